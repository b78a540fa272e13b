package mapper

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
)

// loadSeeds are values load must read as the slow path does, or refuse.
var loadSeeds = []string{
	`{"a":{"b":[{"c":1},{"c":2,"d":"x"}],"e":null},"f":"s","g.h":3,"a2":[1,2,3]}`,
	`{"a":"not an object","f":{"f":{"f":1}}}`,
	`{"a":{"b":1},"a":{"b":2}}`,
	`{"pro\u0066ile":{"x":1},"q":true}`,
	`{}`,
	` { "p" : { "e" : "sp" , "n" : { "o" : 5 } } , "s" : "str", "t":[7] } `,
	`{"p":{"e":1,"e":2},"s":[{"e":4}]}`,
	`{"p":null,"s":{},"t":{"0":{"1":2}}}`,
	`{"p":[{"e":1}],"t":true,"f":false,"n":-0.5e+3}`,
	`{"s":"caf\u00e9 \"q\" \\ \/ \b\f\n\r\t","u":"café ☕","x":"\ud83d\ude00"}`,
	`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":.5}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":"` + "\x01" + `"}`, `{"a":"` + "\xff" + `"}`, `{"a":"\x"}`, `{"a":"\u12g4"}`,
	`{"a":1,}`, `{"a" 1}`, `{,}`, `{"a":[1,]}`, `{"a":[,1]}`, `{"a":1}}`, `{"a":1} x`, `{"a":1`,
	`[1]`, `"s"`, `1`, ``, `   `, `{"":1,"":2}`, `{"":{"":3}}`,
	`{"a":{"b":{"c":{"d":[[[{"e":[]}]]]}}}}`,
	`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k1":11}`,
	`{"a":[` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth) + `]}`,
	manyKeys(80, ""), manyKeys(80, "k7"),
	// A number or literal after an escaped string is not escaped; the keys
	// between them are far enough from the end to skip loadString.
	`{"s":"\n","n":1,"t":true,"padding":"xxxxxxxx"}`, `{"p":{"s":"\t","e":-2,"n":null,"z":"........"}}`,
	// Where load takes its compact steps (a colon and the value, a comma
	// and a key) and where not: in an array, before a control byte, at
	// the end.
	`{"a":["b","c"],"d":"e","f":[1,"g"]}`, `{"a":` + "\x01" + `}`, `{"a":}`, `{"a":`, `{"a":1,"`, `{"a":1,"b"}`, `["a","b"]`,
	// Keys load compares by their first eight bytes: of exactly eight,
	// longer ones sharing them, given twice at either level, with an
	// escape, a control byte or non-ASCII in or after the first word, and
	// near the value's end, where no eight bytes follow the quote.
	`{"abcdefgh":1,"abcdefgi":2,"abcdefghi":3,"abcdefghij":{"abcdefghX":4,"abcdefghY":5,"abcdefgh":6}}`,
	`{"abcdefgh":1,"abcdefgh":2}`, `{"abcdefghij":1,"abcdefghij":2}`, `{"abcdefghi":1,"abcdefghj":2,"abcdefghi":3}`,
	`{"o":{"abcdefghij":1,"abcdefghij":2}}`, `{"o":{"abcdefgh":{"abcdefgh":1}},"p":{"abcdefgh":2}}`,
	`{"ab\ncdefgh":1,"xxxxxxxxx":2}`, `{"abcdefgh\n":1,"xxxxxxxxx":2}`, `{"abcdefgh\u0069":1,"abcdefghi":2}`,
	`{"ab` + "\x01" + `cdefgh":1}`, `{"ab` + "\xff" + `cdefgh":1}`, `{"abcdefgh` + "\xc3" + `":1}`,
	`{"café12":1,"ключ":{"значение":2},"abcdefgé":3,"abcdefg":{"é":4}}`,
	`{"abcdefgh"`, `{"abcdefgh`, `{"abcdefgh":`, `{"ab":1}`, `{"abcdef":1,"ab":2}`, `{"x":1,"abcdefg":2}`,
	// Strings load reads eight bytes at a time: of a multiple of eight,
	// ending at or near the value's end, with UTF-8 across two words,
	// control bytes and invalid UTF-8 at a word's edge.
	`{"s":"12345678","t":"1234567812345678","u":"","v":"1234567"}`,
	`{"a":"12345678"`, `{"a":"12345678}`, `{"a":"1234567`, `{"a":"123456"}`, `{"a":"1234567"}`,
	`{"s":"1234567é","t":"123456☕89","u":"1234567😀","v":"12345678é"}`,
	`{"s":"1234567` + "\xc3" + `"}`, `{"s":"123456` + "\xe2\x82" + `"}`, `{"s":"1234567` + "\xed\xa0\x80" + `"}`,
	`{"s":"1234567` + "\x01" + `"}`, `{"s":"12345678` + "\x1f" + `"}`, `{"s":"1234567` + "\x7f" + `"}`,
	`{"s":"1234567\"8","t":"12345678\\"}`,
	// Numbers and literals, at the end of the value or followed by more.
	`{"a":12`, `{"a":12}`, `{"a":12.5e3}`, `{"a":12E+3}`, `{"a":12e}`, `{"a":12.}`, `{"a":-12}`,
	`{"a":0}`, `{"a":12x}`, `{"a":1 2}`, `{"a":[12,-0,0.5,9]}`,
	`{"a":truex}`, `{"a":nul}`, `{"a":nul`, `{"a":true`, `{"a":fals}`, `{"a":falsey}`, `{"a":nulll}`,
	`{"a":t}`, `{"a":f`, `{"a":tRue}`, `{"a":[true,false,null],"b":false,"c":null}`,
	// Depth at MaxDepth and one deeper.
	`{"a":` + strings.Repeat(`[`, MaxDepth-1) + strings.Repeat(`]`, MaxDepth-1) + `}`,
	`{"a":` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth) + `}`,
	`{"a":` + strings.Repeat(`{"a":`, MaxDepth-1) + `1` + strings.Repeat(`}`, MaxDepth-1) + `}`,
	`{"a":` + strings.Repeat(`{"a":`, MaxDepth) + `1` + strings.Repeat(`}`, MaxDepth) + `}`,
	// Many keys, compared sorted when the object closes; more than a doc
	// keeps room for.
	manyKeys(80, `"x":7`), manyKeys(80, `"k7":7`), `{"o":` + manyKeys(80, `"x":7`) + `}`, `{"o":` + manyKeys(80, `"k70":7`) + `}`,
	manyKeys(maxKeptKeys+1, `"x":1`), manyKeys(maxKeptKeys+1, `"k4000":1`),
}

// loadPaths are the paths each value is read by, beside its own keys.
var loadPaths = []string{"a", "a.b", "a.e", "a.b.0.c", "f", "f.f", "f.f.f", "p", "p.e", "p.n", "p.n.o", "s", "s.e", "t", "t.0", "u", "x", "n", "", "k7", "profile.x"}

// TestLoadReadsAsReset checks load against the slow path on each seed, in
// one doc, as a Mapper's pool reuses it: each load starts on the stacks
// the ones before it left.
func TestLoadReadsAsReset(t *testing.T) {
	var d doc
	for _, v := range loadSeeds {
		checkLoad(t, &d, []byte(v))
	}
}

// TestLoadKeepsFewKeys checks that a doc keeps no key stack of more than
// maxKeptKeys from a value with many keys.
func TestLoadKeepsFewKeys(t *testing.T) {
	var d doc
	for _, n := range []int{100, maxKeptKeys + 1, 100} {
		if !d.load(&kgo.Record{Value: []byte(manyKeys(n, `"x":1`))}, nil) {
			t.Fatalf("%d keys: not loaded", n)
		}
		if got := cap(d.lkeys); got > maxKeptKeys {
			t.Errorf("after %d keys: got a kept stack of %d, want at most %d", n, got, maxKeptKeys)
		}
	}
}

// FuzzLoad checks load against the slow path in a doc that has loaded a
// value deeper and with more keys than the frame and key stacks it starts
// with.
func FuzzLoad(f *testing.F) {
	for _, v := range loadSeeds {
		f.Add([]byte(v))
	}
	before := &kgo.Record{Value: []byte(`{"a":` + strings.Repeat(`[`, 20) + manyKeys(80, `"x":1`) + strings.Repeat(`]`, 20) + `}`)}
	f.Fuzz(func(t *testing.T, v []byte) {
		var d doc
		if !d.load(before, nil) {
			t.Fatal("the value before is not loaded")
		}
		checkLoad(t, &d, v)
	})
}

// checkLoad loads v into got with a plan of loadPaths and v's own first and
// second level keys, and checks that load accepts v exactly when the slow
// path reads it as it is (checkValue finds nothing wrong, no key twice and
// none escaped), and that it then notes what reset and scan find.
func checkLoad(t *testing.T, got *doc, v []byte) {
	t.Helper()
	paths := append([]string(nil), loadPaths...)
	if gjson.ValidBytes(v) {
		gjson.ParseBytes(v).ForEach(func(k, val gjson.Result) bool {
			paths = append(paths, gjson.Escape(k.Str))
			val.ForEach(func(k2, _ gjson.Result) bool {
				if k2.Type == gjson.String {
					paths = append(paths, gjson.Escape(k.Str)+"."+gjson.Escape(k2.Str))
				}
				return true
			})
			return true
		})
	}
	pl := newPlan()
	for _, p := range paths {
		pl.path(p)
	}
	rec := &kgo.Record{Value: v}
	loaded := got.load(rec, pl)
	msg, scan := checkValue(v)
	slow := msg == "" && !scan.hasDup && !scan.escapedKey
	if loaded != slow {
		t.Fatalf("%q: load says %v, the slow path says %q (duplicate %v, escaped key %v)", v, loaded, msg, scan.hasDup, scan.escapedKey)
	}
	if !loaded {
		return
	}
	want := newDoc(rec, pl)
	for i := range pl.names {
		want.scan(i)
	}
	for i, name := range pl.names {
		if got.top[i] != want.top[i] || got.scanned[i] != want.scanned[i] {
			t.Errorf("%q: %s: got %+v (scanned %d), want %+v (scanned %d)", v, name, got.top[i], got.scanned[i], want.top[i], want.scanned[i])
		}
	}
	for j := range want.sub {
		if got.sub[j] != want.sub[j] {
			t.Errorf("%q: second-level value %d: got %+v, want %+v", v, j, got.sub[j], want.sub[j])
		}
	}
}

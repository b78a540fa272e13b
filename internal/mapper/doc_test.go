package mapper

import (
	"testing"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestPlanReadsAsGjson checks that reading through a plan's one pass gives
// what gjson gives reading the whole value, path by path.
func TestPlanReadsAsGjson(t *testing.T) {
	values := []string{
		`{"a":{"b":[{"c":1},{"c":2,"d":"x"}],"e":null},"f":"s","g.h":3,"a2":[1,2,3]}`,
		`{"a":"not an object","f":{"f":{"f":1}}}`,
		`{"a":{"b":1},"a":{"b":2}}`,
		`{"pro\u0066ile":{"x":1},"q":true}`,
		`{}`,
		`{"f":"a\"b\u00e9","a":{"b":-1.5e3,"e":"x\ty"},"q":false,"a2":{"1":null}}`,
	}
	paths := []string{
		"a", "a.b", "a.b.0.c", "a.b.1.d", "a.b.#", "a.b.#.c", `a.b.#(c==2).d`, "a.e", "a.e.x",
		"f", "f.f.f", "g\\.h", "a2.1", "a2.#", "missing", "missing.x", "a.b.@reverse.0.c",
		"@this.f", "{f,q}", "profile.x", "q", "a*", "a.", "a|@this", "a2|@reverse", "f|@fromstr",
	}
	planReadsAsGjson(t, values, paths)
}

// planReadsAsGjson compiles paths into one plan and reads each from each
// value through the plan and with gjson.Get.
func planReadsAsGjson(t *testing.T, values, paths []string) {
	t.Helper()
	for _, v := range values {
		pl := newPlan()
		compiled := make([]*jpath, len(paths))
		for i, p := range paths {
			compiled[i] = pl.path(p)
		}
		rec := &kgo.Record{Value: []byte(v)}
		docs := []*doc{newDoc(rec, pl)}
		if d := new(doc); d.load(rec, pl) {
			docs = append(docs, d)
		}
		for _, d := range docs {
			readsAsGjson(t, d, v, paths, compiled)
		}
	}
}

// readsAsGjson reads each of paths, compiled, from d, the doc of v, as
// gjson.Get and recordValue would.
func readsAsGjson(t *testing.T, d *doc, v string, paths []string, compiled []*jpath) {
	t.Helper()
	{
		for i, p := range paths {
			got, want := d.get(compiled[i]), gjson.Get(v, p)
			if got.Raw != want.Raw || got.Type != want.Type || got.Exists() != want.Exists() || got.Str != want.Str || got.Num != want.Num {
				t.Errorf("%s in %s: got %v %q %q %v, want %v %q %q %v (plain key %d)", p, v, got.Type, got.Raw, got.Str, got.Num, want.Type, want.Raw, want.Str, want.Num, compiled[i].key)
			}
			var wantValue optikpi.Value
			wantOK := want.Exists() && want.Type != gjson.Null
			if wantOK {
				wantValue = recordValue(&want)
			}
			gotValue, ok := d.value(compiled[i])
			// Plain only for the text between the quotes of a string of v
			// without an escape; recordValue leaves it to the encoder.
			if gotValue.Plain && (want.Type != gjson.String || want.Raw != `"`+gotValue.Text+`"`) {
				t.Errorf("value of %s in %s: %+v is Plain, but %s is not the plain string", p, v, gotValue, want.Raw)
			}
			// fromValue is value, with a number or JSON marked Plain
			// when it is read, not made, from d's own text.
			fromValue, fromOK := d.fromValue(compiled[i])
			wantFrom := gotValue
			if (wantFrom.Type == optikpi.ValueNumber || wantFrom.Type == optikpi.ValueJSON) && !compiled[i].made {
				wantFrom.Plain = within(gjson.Get(d.s, p).Raw, d.s)
			}
			if fromValue != wantFrom || fromOK != ok {
				t.Errorf("fromValue of %s in %s: got %+v %v, want %+v %v", p, v, fromValue, fromOK, wantFrom, ok)
			}
			gotValue.Plain = false
			if gotValue != wantValue || ok != wantOK {
				t.Errorf("value of %s in %s: got %+v %v, want %+v %v", p, v, gotValue, ok, wantValue, wantOK)
			}
		}
	}
}

// TestPlanReadsSecondLevelAsGjson checks the second level of a plan the
// same way: duplicate and escaped keys, values that are not objects, and
// paths read once and again. As at the top level, a duplicated key is read
// at its first occurrence: gjson would also search the later ones for a
// deeper path the first lacks, which no value here has.
func TestPlanReadsSecondLevelAsGjson(t *testing.T) {
	values := []string{
		`{"p":{"e":1,"e":2,"m\u0061il":"x","n":{"o":[1,{"q":3}]}},"s":[{"e":4}],"t":{"0":"zero"}}`,
		`{"p" : { "e" : "sp" , "n" : { "o" : 5 } } , "s" : "str", "t":[7]}`,
		`{"p":{"n":{"o":1},"n":{"o":2},"e":9},"p":{"e":10}}`,
		`{"p":null,"s":{},"t":{"0":{"1":2}}}`,
		`{"p":[{"e":1}],"t":true}`,
	}
	paths := []string{
		"p", "p.e", "p.mail", "p.n", "p.n.o", "p.n.o.1.q", "p.n.o.#", "p.missing", "p.e.x",
		"s.e", "s.0.e", "s.#.e", "t.0", "t.0.1", "p.e", "p.n.o",
	}
	planReadsAsGjson(t, values, paths)
}

// newDoc is the doc of rec as the slow path reads it (reset); rec's value
// must be a valid JSON object.
func newDoc(rec *kgo.Record, pl *plan) *doc {
	return new(doc).reset(rec, pl)
}

package mapper

import (
	"testing"

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
	}
	paths := []string{
		"a", "a.b", "a.b.0.c", "a.b.1.d", "a.b.#", "a.b.#.c", `a.b.#(c==2).d`, "a.e", "a.e.x",
		"f", "f.f.f", "g\\.h", "a2.1", "a2.#", "missing", "missing.x", "a.b.@reverse.0.c",
		"@this.f", "{f,q}", "profile.x", "q", "a*", "a.",
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
		d := newDoc(&kgo.Record{Value: []byte(v)}, pl)
		for i, p := range paths {
			got, want := d.get(compiled[i]), gjson.Get(v, p)
			if got.Raw != want.Raw || got.Type != want.Type || got.Exists() != want.Exists() {
				t.Errorf("%s in %s: got %v %q, want %v %q (plain key %d)", p, v, got.Type, got.Raw, want.Type, want.Raw, compiled[i].key)
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

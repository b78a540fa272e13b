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

package config

import (
	"math/rand/v2"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSameConditionAsBefore checks sameCondition against what it was
// before its shortcut, equal YAML forms, over pairs of generated
// conditions: nested, of every kind of test, with values of every type
// and strings that YAML must quote or fold, and copies that differ only in
// their lines and in empty lists for none.
func TestSameConditionAsBefore(t *testing.T) {
	// forms[i] is conds[i]'s YAML form, "" when it has none.
	form := func(c *Condition) string {
		y, err := yaml.Marshal(c)
		if err != nil {
			return ""
		}
		return string(y)
	}
	texts := []string{"", "type", "Type", "a b", "a\nb", "a\r\nb", "a\rb", "a\n", " a", "1", "true", "null", "~", "#", "a: b", "\u2028", "é", "\xff"}
	values := []any{nil, "x", "1", 1, 1.0, uint64(1), int64(-1), true, "true", "", []any{}, []any{"x"}, map[string]any{}, map[string]any{"x": 1}}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(n int) int { return rng.IntN(n) }
	var gen func(depth int) Condition
	gen = func(depth int) Condition {
		c := Condition{Line: pick(3)}
		switch pick(7) {
		case 0:
			c.Path = texts[pick(len(texts))]
		case 1:
			c.Meta = texts[pick(len(texts))]
		case 2:
			c.Expr = texts[pick(len(texts))]
		case 3:
			c.Matches = texts[pick(len(texts))]
		}
		if pick(2) == 0 {
			c.Equals = values[pick(len(values))]
		}
		if pick(4) == 0 {
			c.In = values[:pick(3)]
			if pick(2) == 0 && len(c.In) == 0 {
				c.In = nil
			}
		}
		if pick(4) == 0 {
			e := pick(2) == 0
			c.Exists = &e
		}
		if depth > 0 {
			if pick(4) == 0 {
				n := gen(depth - 1)
				c.Not = &n
			}
			for range pick(3) {
				c.All = append(c.All, gen(depth-1))
			}
			if pick(3) == 0 {
				c.Any = []Condition{gen(depth - 1)}
			}
		}
		return c
	}
	conds := make([]Condition, 0, 300)
	for range 150 {
		c := gen(2)
		d := c // same test, another line, empty lists for none
		d.Line++
		if d.In == nil {
			d.In = []any{}
		}
		if d.All == nil {
			d.All = []Condition{}
		}
		if d.Any == nil {
			d.Any = []Condition{}
		}
		conds = append(conds, c, d)
	}
	forms := make([]string, len(conds))
	for i := range conds {
		forms[i] = form(&conds[i])
	}
	same := 0
	for i := range conds {
		for j := i; j < len(conds) && j < i+20; j++ {
			want := forms[i] != "" && forms[i] == forms[j] // the comparison before the shortcut
			if got := sameCondition(&conds[i], &conds[j]); got != want {
				t.Errorf("sameCondition = %v, want %v:\n%s\n%s", got, want, forms[i], forms[j])
			}
			if want {
				same++
			}
		}
	}
	if same < len(conds) {
		t.Errorf("%d pairs the same, want more than %d", same, len(conds))
	}
}

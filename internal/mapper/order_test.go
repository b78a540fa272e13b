package mapper

import (
	"math"
	"strings"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/config"
)

// TestMapProblemsInOrder: the problems of a map's entries (minor_units'
// exponents out of range, map values that are no JSON value, rate limits
// of no model) are each reported in the order of their keys, the same on
// every run, not in the random order of the map they were read into.
func TestMapProblemsInOrder(t *testing.T) {
	keys := []string{"aaa", "bbb", "ccc", "ddd", "eee", "fff", "ggg", "hhh"}
	exps, vmap, limits := map[string]int{}, map[string]any{}, map[string]float64{}
	for i, k := range keys {
		exps[strings.ToUpper(k)] = 19 + i
		vmap[k] = math.Inf(1)
		limits[k] = 1
	}
	tests := []struct {
		name, want string // want: a problem's text, before which %s is the key
		problems   func() error
	}{
		{"exponents", "fields.f.exponents.%s: must be 0 to 18", func() error {
			_, err := compileRule(&config.FieldRule{Target: "f", Path: "a", Transform: config.Names{"minor_units"}, CurrencyPath: "c", Exponents: exps}, newPlan())
			return err
		}},
		{"map values", "fields.f.map.%s: ", func() error {
			_, err := compileRule(&config.FieldRule{Target: "f", Path: "a", Map: vmap}, newPlan())
			return err
		}},
		{"rate limits", "sink.rate_limits.%s: unknown model", func() error {
			cfg := &config.Config{Sink: config.Sink{RateLimits: limits}}
			ps := cfg.Problems()
			checkRateLimits(cfg, ps)
			return ps.Err()
		}},
	}
	for _, tt := range tests {
		want := ""
		for range 20 {
			err := tt.problems()
			if err == nil {
				t.Fatalf("%s: got no error, want one per entry", tt.name)
			}
			got := err.Error()
			if want == "" {
				want = got
				last := -1
				for _, k := range keys {
					if tt.name == "exponents" {
						k = strings.ToUpper(k)
					}
					i := strings.Index(got, strings.Replace(tt.want, "%s", k, 1))
					if i <= last {
						t.Fatalf("%s: %s not reported after the keys before it:\n%s", tt.name, k, got)
					}
					last = i
				}
			}
			if got != want {
				t.Fatalf("%s: got problems\n%s\nwant the same as the first time\n%s", tt.name, got, want)
			}
		}
	}
}

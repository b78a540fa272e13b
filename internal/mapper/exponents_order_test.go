package mapper

import (
	"strings"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/config"
)

// TestExponentProblemsInOrder: exponents out of range are each reported,
// in the order of their codes, the same on every run, not in the
// random order of the map they were read into.
func TestExponentProblemsInOrder(t *testing.T) {
	exps := map[string]int{"AAA": 19, "BBB": -1, "CCC": 20, "DDD": 99, "EEE": -5, "FFF": 100, "GGG": 1 << 20, "HHH": -2}
	want := ""
	for range 20 {
		_, err := compileRule(&config.FieldRule{Target: "f", Path: "a", Transform: config.Names{"minor_units"}, CurrencyPath: "c", Exponents: exps}, newPlan())
		if err == nil {
			t.Fatal("got no error, want one per exponent out of range")
		}
		got := err.Error()
		if want == "" {
			want = got
			last := -1
			for _, c := range []string{"AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "GGG", "HHH"} {
				i := strings.Index(got, "exponents."+c+": must be 0 to 18")
				if i <= last {
					t.Fatalf("exponents.%s not reported after the codes before it:\n%s", c, got)
				}
				last = i
			}
		}
		if got != want {
			t.Fatalf("got problems\n%s\nwant the same as the first time\n%s", got, want)
		}
	}
}

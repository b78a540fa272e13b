package optikpi

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// numberRef is number as strconv.ParseFloat reads every json.Number: the
// reference plainSign's shortcut must match.
func numberRef(s string, integer bool) (int, string) {
	if !IsJSONNumber(s) {
		return 0, issueNumber
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, issueFinite
	}
	if integer && !isIntegralText(s) {
		return 0, issueInteger
	}
	switch {
	case f > 0:
		return 1, ""
	case f < 0:
		return -1, ""
	}
	return 0, ""
}

// FuzzNumberSign compares number with numberRef on any text.
func FuzzNumberSign(f *testing.F) {
	for _, s := range []string{"0", "-0", "-0.000", "10.50", "-3", "0.001", "1e400", "-1e-400", "1e-400", "12x", "",
		"1" + strings.Repeat("0", 298), "1" + strings.Repeat("0", 299), "1" + strings.Repeat("0", 320),
		"0." + strings.Repeat("0", 296) + "1", "-0." + strings.Repeat("0", 330) + "1", "3.0", "3.5",
		"20", "-7", "-0", "1" + strings.Repeat("0", 400), "30e-1", "3.0e0", "1.5e1", "1E+2", "-2.50"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, integer := range []bool{false, true} {
			sign, issue := number(json.Number(s), integer)
			wantSign, wantIssue := numberRef(s, integer)
			if sign != wantSign || issue != wantIssue {
				t.Fatalf("number(%q, %v) = %d, %q; want %d, %q", s, integer, sign, issue, wantSign, wantIssue)
			}
		}
	})
}

// TestNumberEnd: a number's end in longer text, where the grammar stops.
func TestNumberEnd(t *testing.T) {
	for _, c := range []struct {
		s    string
		i    int
		want int
	}{
		{`{"a":12,"b":1}`, 5, 7},
		{`[-0.5e+3]`, 1, 8},
		{`01`, 0, 1}, // the grammar stops after a leading 0
		{`1.x`, 0, -1},
		{`1e}`, 0, -1},
		{`-`, 0, -1},
		{`.5`, 0, -1},
		{`7`, 0, 1},
		{`x7`, 1, 2},
	} {
		if got := NumberEnd(c.s, c.i); got != c.want {
			t.Errorf("NumberEnd(%q, %d) = %d, want %d", c.s, c.i, got, c.want)
		}
	}
}

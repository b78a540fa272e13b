package config

import (
	"strings"
	"testing"
)

// TestRateLimitProblemsInOrder: rate limits of one line that are not more
// than 0 are each reported in the order of their names, the same on every
// run, not in the random order of the map they were read into.
func TestRateLimitProblemsInOrder(t *testing.T) {
	names := []string{"a_model", "b_model", "c_model", "d_model", "e_model", "f_model", "g_model", "h_model"}
	var limits []string
	for _, n := range names {
		limits = append(limits, n+": 0")
	}
	src := edit(t, "dlq:\n", "sink:\n  rate_limits: {"+strings.Join(limits, ", ")+"}\ndlq:\n")
	want := ""
	for range 20 {
		_, err := Parse([]byte(src), "test.yaml")
		if err == nil {
			t.Fatal("got no error, want one per rate limit of 0")
		}
		got := err.Error()
		if want == "" {
			want = got
			last := -1
			for _, n := range names {
				i := strings.Index(got, "sink.rate_limits."+n+": must be more than 0")
				if i <= last {
					t.Fatalf("sink.rate_limits.%s not reported after the names before it:\n%s", n, got)
				}
				last = i
			}
		}
		if got != want {
			t.Fatalf("got problems\n%s\nwant the same as the first time\n%s", got, want)
		}
	}
}

package failure

import "testing"

func TestParse(t *testing.T) {
	for _, r := range Reasons() {
		got, err := Parse(string(r))
		if err != nil || got != r {
			t.Errorf("Parse(%q) = %q, %v; want %q, nil", r, got, err, r)
		}
	}
	for _, s := range []string{"", "Invalid", "too-large", "other"} {
		if got, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %q, nil; want an error", s, got)
		}
	}
}

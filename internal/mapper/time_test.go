package mapper

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// rfc3339Ref and dateRef are rfc3339 and date as they read strings through
// the time package alone: the references the fast paths must match.
func rfc3339Ref(s string) (string, error) {
	v := optikpi.String(s)
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("%s is not an RFC 3339 time with an offset", describeValue(v))
	}
	b, ok := optikpi.AppendDateTime(nil, t)
	if !ok {
		return "", fmt.Errorf("%s is outside the years 0001 to 9999", describeValue(v))
	}
	return string(b), nil
}

func dateRef(s string) (string, error) {
	v := optikpi.String(s)
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err == nil && (t.Year() < 1 || t.Year() > 9999) {
			err = errors.New("out of range")
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s is not a date (YYYY-MM-DD) or an RFC 3339 time", describeValue(v))
	}
	return t.Format(time.DateOnly), nil
}

var timeCases = []string{
	"2024-12-31T19:00:08.119-05:00",
	"2025-01-01T00:00:13.108Z",
	" 2024-01-15T10:30:00+05:30 ",
	"2024-01-15T10:30:00.1234567891Z",
	"2024-01-15T10:30:00.0005Z",
	"2024-01-15T10:30:00+24:00",
	"2024-01-15T10:30:00,5+02:00",
	"2024-01-15T1:30:00Z",
	"2024-02-29T23:30:00-01:00",
	"2023-02-29T00:00:00Z",
	"2024-04-31T00:00:00Z",
	"0000-12-31T23:30:00-01:00",
	"0000-12-31T23:30:00Z",
	"0001-01-01T00:30:00+01:00",
	"9999-12-31T23:30:00-01:00",
	"9999-12-31T23:59:59.9999Z",
	"0000-01-01",
	"1990-05-15",
	"1990-5-15",
	"1990-02-29",
	"2024-01-15T10:30:00",
	"",
	"not a time",
}

func checkTimeTransforms(t *testing.T, s string) {
	t.Helper()
	for _, tc := range []struct {
		name string
		fn   transformFn
		ref  func(string) (string, error)
	}{
		{"rfc3339", rfc3339, rfc3339Ref},
		{"date", date, dateRef},
	} {
		var d doc
		got, gotErr := tc.fn(optikpi.String(s), &d)
		want, wantErr := tc.ref(s)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || got.Type != optikpi.ValueString && gotErr == nil || got.Text != want {
			t.Fatalf("%s(%q) = %+v, %v; want %q, %v", tc.name, s, got, gotErr, want, wantErr)
		}
	}
}

// FuzzRFC3339Transform compares rfc3339 and date with the time package on
// any string; go test runs it on timeCases.
func FuzzRFC3339Transform(f *testing.F) {
	for _, s := range timeCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkTimeTransforms(t, s) })
}

func TestRFC3339DoesNotAllocate(t *testing.T) {
	var d doc
	v := optikpi.String("2024-12-31T19:00:08.119-05:00")
	if n := testing.AllocsPerRun(100, func() {
		d.arena = d.arena[:0]
		if _, err := rfc3339(v, &d); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("rfc3339: %v allocations per value, want 0", n)
	}
}

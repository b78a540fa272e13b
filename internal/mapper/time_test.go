package mapper

import (
	"errors"
	"fmt"
	"strconv"
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

// splitEpochRef is splitEpoch as strconv.ParseInt reads the digits.
func splitEpochRef(s string, unit time.Duration) (sec, nsec int64, ok bool) {
	if strings.ContainsAny(s, "eE") {
		return splitEpoch(s, unit) // unchanged
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(ip, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	perSec := int64(time.Second / unit)
	sec = n / perSec
	fp = (fp + "000000000")[:9]
	frac, _ := strconv.ParseInt(fp, 10, 64)
	nsec = (n%perSec)*int64(unit) + frac*int64(unit)/int64(time.Second)
	if neg {
		sec, nsec = -sec, -nsec
	}
	return sec, nsec, true
}

// FuzzSplitEpoch compares splitEpoch with strconv on JSON numbers, in
// every unit.
func FuzzSplitEpoch(f *testing.F) {
	for _, s := range []string{"0", "-0", "1735689613108", "1735689613.108", "-1.5", "9223372036854775807",
		"9223372036854775808", "-9223372036854775808", "0.0000000001", "12.3456789012345", "1e3", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !optikpi.IsJSONNumber(s) {
			return
		}
		for _, unit := range []time.Duration{time.Second, time.Millisecond, time.Microsecond, time.Nanosecond} {
			sec, nsec, ok := splitEpoch(s, unit)
			wsec, wnsec, wok := splitEpochRef(s, unit)
			if sec != wsec || nsec != wnsec || ok != wok {
				t.Fatalf("splitEpoch(%q, %v) = %d, %d, %v; want %d, %d, %v", s, unit, sec, nsec, ok, wsec, wnsec, wok)
			}
		}
	})
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

// BenchmarkTimeTransforms runs each time transform on a typical value.
func BenchmarkTimeTransforms(b *testing.B) {
	for _, tc := range []struct {
		name string
		fn   transformFn
		v    optikpi.Value
	}{
		{"rfc3339/Z", rfc3339, optikpi.String("2025-01-01T00:00:13.108Z")},
		{"rfc3339/+05:30", rfc3339, optikpi.String("2024-12-31T19:00:08.119+05:30")},
		{"unix_millis", epochIn(time.Millisecond), number("1735689613108")},
		{"unix_seconds", epochIn(time.Second), number("1735689613.108")},
		{"unix_auto", unixAuto, optikpi.String("1735689613108")},
		{"timestamp", timestamp, optikpi.String("2025-01-01T00:00:13.108Z")},
		{"date", date, optikpi.String("1990-05-15")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var d doc
			b.ReportAllocs()
			for b.Loop() {
				d.arena = d.arena[:0]
				if _, err := tc.fn(tc.v, &d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

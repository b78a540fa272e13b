package optikpi

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// appendDateTimeRef is AppendDateTime as time.AppendFormat writes it: the
// reference the hand-written formatter must match byte for byte.
func appendDateTimeRef(b []byte, t time.Time) ([]byte, bool) {
	t = t.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 1 || y > 9999 {
		return b, false
	}
	layout := "2006-01-02T15:04:05Z"
	if t.Nanosecond() != 0 {
		layout = "2006-01-02T15:04:05.000Z"
	}
	return t.AppendFormat(b, layout), true
}

// rfc3339Cases are strings at the edges of what the fast path reads.
var rfc3339Cases = []string{
	"2024-01-15T10:30:00Z",
	"2024-01-15T10:30:00.123Z",
	"2024-01-15T10:30:00.1234567891234Z", // more than nine digits: dropped
	"2024-01-15T10:30:00.999999999Z",
	"2024-01-15T10:30:00.0009Z", // below a millisecond
	"2024-01-15T10:30:00.Z",     // a point without digits
	"2024-01-15T10:30:00,5Z",    // a comma: time.Parse's slow path
	"2024-01-15T10:30:00+02:00",
	"2024-01-15T10:30:00.5-05:30",
	"2024-01-15T10:30:00+23:59",
	"2024-01-15T10:30:00+24:00",
	"2024-01-15T10:30:00+02:60",
	"2024-01-15T10:30:00+0200",
	"2024-01-15T10:30:00+02:00Z",
	"2024-01-15T10:30:00z",
	"2024-01-15t10:30:00Z",
	"2024-01-15 10:30:00Z",
	"2024-01-15T1:30:00Z",
	"2024-01-15T10:30:60Z",
	"2024-01-15T24:00:00Z",
	"2024-01-15T10:60:00Z",
	"2024-02-29T00:00:00Z",
	"2023-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z",
	"2000-02-29T00:00:00Z",
	"2024-02-30T00:00:00Z",
	"2024-04-31T00:00:00Z",
	"2024-12-31T23:59:59.999999999Z",
	"2024-13-01T00:00:00Z",
	"2024-00-10T00:00:00Z",
	"2024-01-00T00:00:00Z",
	"0000-01-01T00:00:00Z",
	"0000-12-31T23:59:59+01:00",
	"0000-12-31T23:00:00-01:00",
	"0001-01-01T00:00:00Z",
	"0001-01-01T00:30:00+01:00",
	"9999-12-31T23:59:59.999Z",
	"9999-12-31T23:30:00-01:00",
	"+024-01-15T10:30:00Z",
	"2024-01-15T10:30:00",
	"2024-01-15",
	"",
	"2024-01-15T10:30:00Z ",
	"２024-01-15T10:30:00Z",
}

func TestParseRFC3339(t *testing.T) {
	for _, s := range rfc3339Cases {
		checkParseRFC3339(t, s)
	}
	// The fast path must be taken: no time.FixedZone for an offset.
	for _, s := range []string{"2024-01-15T10:30:00.123+02:00", "2024-01-15T10:30:00Z"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = ParseRFC3339(s) }); n != 0 {
			t.Errorf("ParseRFC3339(%q): %v allocations, want 0", s, n)
		}
	}
}

// checkParseRFC3339 compares ParseRFC3339 with time.Parse, and the
// formatted instant with the reference formatter.
func checkParseRFC3339(t *testing.T, s string) {
	t.Helper()
	got, gotErr := ParseRFC3339(s)
	want, wantErr := time.Parse(time.RFC3339Nano, s)
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Fatalf("ParseRFC3339(%q): error %v, want %v", s, gotErr, wantErr)
	}
	if _, fast := parseRFC3339(s); fast && wantErr != nil {
		t.Fatalf("parseRFC3339(%q) accepts what time.Parse refuses: %v", s, wantErr)
	}
	if gotErr != nil {
		return
	}
	if !got.Equal(want) || got.Unix() != want.Unix() || got.Nanosecond() != want.Nanosecond() {
		t.Fatalf("ParseRFC3339(%q) = %v, want %v", s, got, want)
	}
	checkAppendDateTime(t, got)
}

func checkAppendDateTime(t *testing.T, tm time.Time) {
	t.Helper()
	got, gotOK := AppendDateTime([]byte("x"), tm)
	want, wantOK := appendDateTimeRef([]byte("x"), tm)
	if string(got) != string(want) || gotOK != wantOK {
		t.Fatalf("AppendDateTime(%v) = %q, %v; want %q, %v", tm, got, gotOK, want, wantOK)
	}
	if gotOK && !isDateTime(string(got[1:])) {
		t.Fatalf("AppendDateTime(%v) = %q, not a date-time the API takes", tm, got)
	}
	// The mapper marks what AppendDateTime writes Plain without a look.
	if !plainText(string(got)) {
		t.Fatalf("AppendDateTime(%v) = %q, which JSON would escape", tm, got)
	}
}

func TestAppendDateTime(t *testing.T) {
	east := time.FixedZone("", 5*3600+30*60)
	for _, tc := range []struct {
		t    time.Time
		want string // "" for out of range
	}{
		{time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC), "2024-01-15T10:30:00Z"},
		{time.Date(2024, 1, 15, 10, 30, 0, 120_000_000, time.UTC), "2024-01-15T10:30:00.120Z"},
		{time.Date(2024, 1, 15, 10, 30, 0, 999_999_999, time.UTC), "2024-01-15T10:30:00.999Z"},
		{time.Date(2024, 1, 15, 10, 30, 0, 999_999, time.UTC), "2024-01-15T10:30:00Z"},
		{time.Date(2024, 1, 15, 10, 30, 0, 1_000_000, time.UTC), "2024-01-15T10:30:00.001Z"},
		{time.Date(2024, 1, 1, 2, 0, 0, 0, east), "2023-12-31T20:30:00Z"},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00Z"},
		{time.Date(1, 1, 1, 1, 0, 0, 0, east), ""},
		{time.Date(0, 12, 31, 23, 59, 59, 999_999_999, time.UTC), ""},
		{time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), "9999-12-31T23:59:59.999Z"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{time.Date(10000, 1, 1, 3, 0, 0, 0, east), "9999-12-31T21:30:00Z"},
		{time.Unix(-1, 500_000_000), "1969-12-31T23:59:59.500Z"},
		{time.Unix(0, -1), "1969-12-31T23:59:59.999Z"},
		{time.Time{}, "0001-01-01T00:00:00Z"},
	} {
		got, ok := AppendDateTime(nil, tc.t)
		if string(got) != tc.want || ok != (tc.want != "") {
			t.Errorf("AppendDateTime(%v) = %q, %v; want %q", tc.t, got, ok, tc.want)
		}
		checkAppendDateTime(t, tc.t)
	}
	tm := time.Date(2024, 1, 15, 10, 30, 0, 123_000_000, east)
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendDateTime(buf[:0], tm) }); n != 0 {
		t.Errorf("AppendDateTime: %v allocations, want 0", n)
	}
}

// FuzzRFC3339 compares ParseRFC3339 with time.Parse(time.RFC3339Nano) on
// any string, and AppendDateTime with time.AppendFormat on what it reads.
func FuzzRFC3339(f *testing.F) {
	for _, s := range rfc3339Cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkParseRFC3339(t, s) })
}

// FuzzAppendDateTime compares AppendDateTime with time.AppendFormat on any
// instant, in UTC and at an offset.
func FuzzAppendDateTime(f *testing.F) {
	for _, tc := range []struct {
		sec, nsec int64
		offset    int
	}{
		{0, 0, 0},
		{1705314600, 123456789, 7200},
		{-62135596800, 0, 0},     // 0001-01-01
		{-62135596801, 0, -3600}, // a second before it
		{253402300799, 999999999, 0},
		{253402300800, 0, 3600},
		{math.MaxInt64, 0, 0},
		{math.MinInt64, -1, 0},
	} {
		f.Add(tc.sec, tc.nsec, tc.offset)
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		tm := time.Unix(sec, nsec)
		checkAppendDateTime(t, tm.UTC())
		checkAppendDateTime(t, tm.In(time.FixedZone("", offset%(48*3600))))
	})
}

// BenchmarkDateTime reads and writes a time as the rfc3339 transform does,
// and as the time package alone would (ref).
func BenchmarkDateTime(b *testing.B) {
	for _, s := range []string{"2024-12-31T19:00:08.119-05:00", "2024-12-31T19:00:08.119+05:30", "2025-01-01T00:00:13Z"} {
		for _, ref := range []bool{false, true} {
			parse, format := ParseRFC3339, AppendDateTime
			if ref {
				parse = func(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
				format = appendDateTimeRef
			}
			b.Run(fmt.Sprintf("%s/ref=%v", s, ref), func(b *testing.B) {
				var buf []byte
				b.ReportAllocs()
				for b.Loop() {
					t, err := parse(s)
					if err != nil {
						b.Fatal(err)
					}
					buf, _ = format(buf[:0], t)
				}
			})
		}
	}
}

// checkAppendRFC3339 compares AppendRFC3339 with AppendDateTime of what
// ParseRFC3339 reads: the same bytes whenever it takes s.
func checkAppendRFC3339(t *testing.T, s string) {
	t.Helper()
	got, ok := AppendRFC3339([]byte("x"), s)
	tm, err := ParseRFC3339(s)
	if !ok {
		if string(got) != "x" {
			t.Fatalf("AppendRFC3339(%q) refused it but appended %q", s, got[1:])
		}
		if _, fast := parseRFC3339(s); fast && err == nil && tm.Year() >= 1 && tm.Year() <= 9999 {
			t.Fatalf("AppendRFC3339(%q) refused a time its fast path reads", s)
		}
		return
	}
	if err != nil {
		t.Fatalf("AppendRFC3339(%q) = %q, but ParseRFC3339 refuses it: %v", s, got, err)
	}
	want, wantOK := AppendDateTime([]byte("x"), tm)
	if string(got) != string(want) || !wantOK {
		t.Fatalf("AppendRFC3339(%q) = %q; want %q, %v", s, got, want, wantOK)
	}
}

func TestAppendRFC3339(t *testing.T) {
	for _, s := range rfc3339Cases {
		checkAppendRFC3339(t, s)
	}
	for _, s := range []string{
		"2024-12-31T19:00:08.119-05:00", "2025-01-01T05:31:19.593+05:30", "2024-02-28T23:30:00-01:00",
		"2024-03-01T00:30:00+01:00", "2000-03-01T00:00:00+00:01", "1970-01-01T00:00:00.001+00:00",
		"1969-12-31T23:59:59.9999-23:59", "0001-01-01T00:00:00.5-00:01", "9999-12-31T23:59:59+00:00",
		"2024-02-29T23:30:00-01:00", "2023-02-28T23:30:00-01:00", "2023-12-31T23:30:00-01:00",
		"2024-01-01T00:30:00+01:00", "2023-03-01T00:30:00+01:00", "2024-04-30T22:00:00-23:59",
		"2024-05-01T01:00:00+23:59", "9998-12-31T23:30:00-01:00", "0002-01-01T00:30:00+01:00",
	} {
		checkAppendRFC3339(t, s)
	}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendRFC3339(buf[:0], "2024-12-31T19:00:08.119-05:00") }); n != 0 {
		t.Errorf("AppendRFC3339: %v allocations, want 0", n)
	}
}

// FuzzAppendRFC3339 compares AppendRFC3339 with ParseRFC3339 and
// AppendDateTime on any string.
func FuzzAppendRFC3339(f *testing.F) {
	for _, s := range rfc3339Cases {
		f.Add(s)
	}
	f.Fuzz(checkAppendRFC3339)
}

package optikpi

import "time"

// AppendDateTime appends t as the API's date-times are written: RFC 3339
// in UTC, with seconds, and milliseconds when not zero. It reports false,
// appending nothing, for a time outside the years 0001 to 9999.
func AppendDateTime(b []byte, t time.Time) ([]byte, bool) {
	// Written by hand: time.AppendFormat reads its layout again every call.
	t = t.UTC()
	year, month, day := t.Date()
	if year < 1 || year > 9999 {
		return b, false
	}
	hour, min, sec := t.Clock()
	b = appendTwoDigits(appendTwoDigits(b, year/100), year%100)
	b = appendTwoDigits(append(b, '-'), int(month))
	b = appendTwoDigits(append(b, '-'), day)
	b = appendTwoDigits(append(b, 'T'), hour)
	b = appendTwoDigits(append(b, ':'), min)
	b = appendTwoDigits(append(b, ':'), sec)
	// Truncated, not rounded, to the millisecond: never into the next second.
	if ms := t.Nanosecond() / int(time.Millisecond); ms != 0 {
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return append(b, 'Z'), true
}

func appendTwoDigits(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }

// ParseRFC3339 is time.Parse(time.RFC3339Nano, s): the same instant, or the
// same error. The common form, YYYY-MM-DDTHH:MM:SS with an optional
// fraction and Z or ±HH:MM, is read here without allocating, and a time
// read so is in UTC where time.Parse would give a numeric offset a
// time.FixedZone of its own; every other string goes to time.Parse.
func ParseRFC3339(s string) (time.Time, error) {
	if t, ok := parseRFC3339(s); ok {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// parseRFC3339 accepts what time.Parse's own RFC 3339 fast path accepts,
// which time.Parse then never refuses.
func parseRFC3339(s string) (time.Time, bool) {
	c, rest, ok := readDateTime(s)
	if !ok {
		return time.Time{}, false
	}
	// Any number of fractional digits; those after the ninth are dropped.
	nsec := 0
	if len(rest) >= 2 && rest[0] == '.' && isDigit(rest[1]) {
		n := skipDigits(rest, 1)
		for i := 1; i < 10; i++ {
			nsec *= 10
			if i < n {
				nsec += int(rest[i] - '0')
			}
		}
		rest = rest[n:]
	}
	t := time.Date(c.year, time.Month(c.month), c.day, c.hour, c.min, c.sec, nsec, time.UTC)
	if rest == "Z" {
		return t, true
	}
	// ±HH:MM
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' {
		return time.Time{}, false
	}
	hh, ok1 := twoDigits(rest[1:3])
	mm, ok2 := twoDigits(rest[4:6])
	if !ok1 || !ok2 || hh > 23 || mm > 59 {
		return time.Time{}, false
	}
	offset := time.Duration(hh*60+mm) * time.Minute
	if rest[0] == '-' {
		offset = -offset
	}
	return t.Add(-offset), true
}

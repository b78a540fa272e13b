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
	return appendMillisZ(b, t.Nanosecond()/int(time.Millisecond)), true
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
	c, nsec, offset, ok := readRFC3339(s)
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(c.year, time.Month(c.month), c.day, c.hour, c.min, c.sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// readRFC3339 reads what parseRFC3339 accepts: the date and time as
// written, the fraction of a second in nanoseconds (digits after the ninth
// dropped) and the offset from UTC in seconds.
func readRFC3339(s string) (c civil, nsec, offset int, ok bool) {
	c, rest, ok := readDateTime(s)
	if !ok {
		return c, 0, 0, false
	}
	// Any number of fractional digits; those after the ninth are dropped.
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
	if rest == "Z" {
		return c, nsec, 0, true
	}
	// ±HH:MM
	if len(rest) != 6 || rest[0] != '+' && rest[0] != '-' || rest[3] != ':' {
		return c, 0, 0, false
	}
	hh, ok1 := twoDigits(rest[1:3])
	mm, ok2 := twoDigits(rest[4:6])
	if !ok1 || !ok2 || hh > 23 || mm > 59 {
		return c, 0, 0, false
	}
	offset = (hh*60 + mm) * 60
	if rest[0] == '-' {
		offset = -offset
	}
	return c, nsec, offset, true
}

// AppendRFC3339 appends the time s as AppendDateTime appends
// ParseRFC3339(s), without a time.Time: for the common forms that
// ParseRFC3339 reads itself, in the years 0001 to 9999. It reports false,
// appending nothing, for any other s, which the caller then parses.
func AppendRFC3339(b []byte, s string) ([]byte, bool) {
	c, nsec, offset, ok := readRFC3339(s)
	if !ok {
		return b, false
	}
	ms := nsec / int(time.Millisecond)
	if offset == 0 {
		if c.year < 1 {
			return b, false
		}
		// The date and time as written, which readDateTime checked.
		return appendMillisZ(append(b, s[:19]...), ms), true
	}
	// An offset is less than a day: at most a day earlier or later.
	sod := c.hour*3600 + c.min*60 + c.sec - offset
	switch {
	case sod < 0:
		sod += secondsPerDay
		if c.day--; c.day == 0 {
			if c.month--; c.month == 0 {
				c.year, c.month = c.year-1, 12
			}
			c.day = daysIn(c.month, c.year)
		}
	case sod >= secondsPerDay:
		sod -= secondsPerDay
		if c.day++; c.day > daysIn(c.month, c.year) {
			if c.day, c.month = 1, c.month+1; c.month == 13 {
				c.year, c.month = c.year+1, 1
			}
		}
	}
	if c.year < 1 || c.year > 9999 {
		return b, false
	}
	b = appendTwoDigits(appendTwoDigits(b, c.year/100), c.year%100)
	b = appendTwoDigits(append(b, '-'), c.month)
	b = appendTwoDigits(append(b, '-'), c.day)
	b = appendTwoDigits(append(b, 'T'), sod/3600)
	b = appendTwoDigits(append(b, ':'), sod/60%60)
	b = appendTwoDigits(append(b, ':'), sod%60)
	return appendMillisZ(b, ms), true
}

const secondsPerDay = 24 * 60 * 60

// appendMillisZ ends a date-time: its milliseconds when not zero, and Z.
func appendMillisZ(b []byte, ms int) []byte {
	if ms != 0 {
		b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	}
	return append(b, 'Z')
}

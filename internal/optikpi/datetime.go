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
	c := civil{year: year, month: int(month), day: day, hour: hour, min: min, sec: sec}
	// Truncated, not rounded, to the millisecond: never into the next second.
	return appendCivil(b, c, t.Nanosecond()/int(time.Millisecond)), true
}

// appendCivil appends c, a real date and time in the years 0001 to 9999,
// and ms, its milliseconds, as AppendDateTime writes them: built in an
// array and appended at once, cheaper than byte by byte.
func appendCivil(b []byte, c civil, ms int) []byte {
	t := [24]byte{4: '-', 7: '-', 10: 'T', 13: ':', 16: ':', 19: '.'}
	putTwoDigits(t[0:2], c.year/100)
	putTwoDigits(t[2:4], c.year%100)
	putTwoDigits(t[5:7], c.month)
	putTwoDigits(t[8:10], c.day)
	putTwoDigits(t[11:13], c.hour)
	putTwoDigits(t[14:16], c.min)
	putTwoDigits(t[17:19], c.sec)
	n := 19
	if ms != 0 {
		t[20], t[21], t[22] = byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10)
		n = 23
	}
	t[n] = 'Z'
	return append(b, t[:n+1]...)
}

// putTwoDigits writes n, 0 to 99, in two digits.
func putTwoDigits(t []byte, n int) { t[0], t[1] = digitPairs[2*n], digitPairs[2*n+1] }

// digitPairs is 00 to 99, each two digits: a look-up, not a division.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

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
		end := min(n, 10)
		for i := 1; i < end; i++ {
			nsec = nsec*10 + int(rest[i]-'0')
		}
		nsec *= fracScale[end-1]
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

// fracScale[n] turns n fractional digits into nanoseconds.
var fracScale = [10]int{1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 1e1, 1}

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
		return appendCivil(b, c, ms), true
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
	c.hour, c.min, c.sec = sod/3600, sod/60%60, sod%60
	return appendCivil(b, c, ms), true
}

const secondsPerDay = 24 * 60 * 60

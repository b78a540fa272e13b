package optikpi

import "time"

// AppendDateTime appends t as the API's date-times are written: RFC 3339
// in UTC, with seconds, and milliseconds when not zero. It reports false,
// appending nothing, for a time outside the years 0001 to 9999.
func AppendDateTime(b []byte, t time.Time) ([]byte, bool) {
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

// Package timelayout checks Go time layouts, loads the time zones and bounds
// the epoch numbers that mapping rules and expressions read.
package timelayout

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones work in a scratch container too
)

// MaxEpochSeconds bounds an epoch number, in seconds, that a transform or
// an expression turns into a time: well inside what time.Time and float64
// hold exactly to the millisecond.
const MaxEpochSeconds = 1e12

// layoutSample is the time Check formats: every element differs from
// the reference time's and from the others (a day above 12, an afternoon
// hour), so that a layout that drops or confuses one does not read it back.
var layoutSample = time.Date(2031, time.November, 23, 19, 47, 38, 123456789, time.UTC)

// Check reports why the Go reference layout of a time_layout rule
// cannot work: it formats a sample time in loc (in UTC when the layout
// writes a numeric offset), parses the text back in loc, and wants the
// sample again, to the precision the layout keeps (a layout may stop at
// the year, month, day, hour, minute, second or a fraction of it). A
// layout with no reference-time elements, such as "YYYY-MM-DD hh:mm:ss",
// or with another notation's tokens beside Go's, is refused with the Go
// layout it probably means.
func Check(layout string, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	err := checkLayout(layout, loc)
	if err == nil {
		return nil
	}
	if s := translateLayout(layout); s != layout && checkLayout(s, loc) == nil {
		return fmt.Errorf("%w (did you mean %q?)", err, s)
	}
	return err
}

func checkLayout(layout string, loc *time.Location) error {
	if hasOffset(layout) {
		// The text gives the offset, so loc is never read; and loc may
		// have one the layout cannot write (+05:30 as -07).
		loc = time.UTC
	}
	sample := layoutSample.In(loc)
	sample = time.Date(sample.Year(), sample.Month(), sample.Day(), sample.Hour(), sample.Minute(), sample.Second(), sample.Nanosecond(), loc)
	text := sample.Format(layout)
	if text == layout && time.Date(2032, 1, 1, 1, 1, 1, 0, loc).Format(layout) == layout {
		return fmt.Errorf("layout %q has no Go reference-time elements: a Go layout writes the reference time Mon Jan 2 15:04:05 MST 2006 as the times should look", layout)
	}
	if tok := foreignToken(layout); tok != "" {
		return fmt.Errorf("layout %q has %q, which a Go layout reads as literal text: a Go layout writes the reference time Mon Jan 2 15:04:05 MST 2006", layout, tok)
	}
	got, err := time.ParseInLocation(layout, text, loc)
	if err != nil {
		return fmt.Errorf("layout %q cannot read the time it writes (%q): %v", layout, text, err)
	}
	if got.Year() == 0 {
		return fmt.Errorf("layout %q has no year (2006 or 06): every time would fall in the year 0", layout)
	}
	for _, want := range truncations(sample) {
		if got.Equal(want) {
			return nil
		}
	}
	hint := ""
	if got.Hour() == sample.Hour()-12 {
		hint = " (a 12-hour 3 or 03 needs PM)"
	}
	return fmt.Errorf("layout %q does not read back the time it writes: %s is written %q and read as %s%s",
		layout, sample.Format("2006-01-02 15:04:05.999999999 MST"), text, got.In(loc).Format("2006-01-02 15:04:05.999999999 MST"), hint)
}

// hasOffset reports whether layout writes a numeric offset (-07, -0700,
// Z07:00, …): the same wall clock in two zones of one name is then written
// differently. A zone name alone (MST) is not one: Go reads it through loc.
func hasOffset(layout string) bool {
	at := func(offset int) string {
		y, mo, d := layoutSample.Date()
		h, mi, s := layoutSample.Clock()
		return time.Date(y, mo, d, h, mi, s, layoutSample.Nanosecond(), time.FixedZone("XYZ", offset)).Format(layout)
	}
	return at(0) != at(5*3600+1800)
}

// truncations returns t cut at each precision a layout may stop at.
func truncations(t time.Time) []time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	loc := t.Location()
	out := []time.Time{
		time.Date(y, 1, 1, 0, 0, 0, 0, loc),
		time.Date(y, mo, 1, 0, 0, 0, 0, loc),
		time.Date(y, mo, d, 0, 0, 0, 0, loc),
		time.Date(y, mo, d, h, 0, 0, 0, loc),
		time.Date(y, mo, d, h, mi, 0, 0, loc),
	}
	for unit := time.Second; unit >= time.Nanosecond; unit /= 10 {
		out = append(out, time.Date(y, mo, d, h, mi, s, t.Nanosecond()/int(unit)*int(unit), loc))
	}
	return out
}

// foreignLayoutTokens maps the tokens of other notations (Java, moment.js,
// strftime) to Go layout elements, longest first.
var foreignLayoutTokens = []struct{ from, to string }{
	{"YYYY", "2006"}, {"yyyy", "2006"}, {"MMMM", "January"}, {"SSS", "000"}, {"MMM", "Jan"},
	{"YY", "06"}, {"yy", "06"}, {"MM", "01"}, {"DD", "02"}, {"dd", "02"},
	{"HH", "15"}, {"hh", "15"}, {"mm", "04"}, {"ss", "05"},
	{"%Y", "2006"}, {"%y", "06"}, {"%m", "01"}, {"%d", "02"}, {"%e", "_2"}, {"%j", "002"},
	{"%H", "15"}, {"%I", "03"}, {"%M", "04"}, {"%S", "05"}, {"%f", "000000"}, {"%p", "PM"},
	{"%b", "Jan"}, {"%B", "January"}, {"%a", "Mon"}, {"%A", "Monday"}, {"%z", "-0700"}, {"%Z", "MST"},
}

// foreignToken returns the first token of another notation in layout that
// stands apart from lower-case letters (so "Submitted" is not "mm"), or "".
func foreignToken(layout string) string {
	for i := 0; i < len(layout); i++ {
		for _, t := range foreignLayoutTokens {
			if !strings.HasPrefix(layout[i:], t.from) {
				continue
			}
			end := i + len(t.from)
			if t.from[0] == '%' || !(i > 0 && isLower(layout[i-1])) && !(end < len(layout) && isLower(layout[end])) {
				return t.from
			}
		}
	}
	return ""
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

// translateLayout replaces the tokens of other notations by Go's.
func translateLayout(layout string) string {
	var b strings.Builder
next:
	for i := 0; i < len(layout); {
		for _, t := range foreignLayoutTokens {
			if strings.HasPrefix(layout[i:], t.from) {
				b.WriteString(t.to)
				i += len(t.from)
				continue next
			}
		}
		b.WriteByte(layout[i])
		i++
	}
	return b.String()
}

// LoadZone returns the time zone name names: an IANA name ("Europe/Malta",
// "UTC") or a fixed offset from UTC ("+02:00", "-0530", "+03").
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		return nil, errors.New("empty time zone")
	}
	if name[0] == '+' || name[0] == '-' {
		if secs, ok := parseOffset(name[1:]); ok {
			if name[0] == '-' {
				secs = -secs
			}
			return time.FixedZone(name, secs), nil
		}
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Malta, or an offset such as +02:00)", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Europe/Malta, or an offset such as +02:00)", name)
	}
	return loc, nil
}

// parseOffset reads HH, HHMM or HH:MM, up to 14 hours.
func parseOffset(s string) (int, bool) {
	hh, mm, _ := strings.Cut(s, ":")
	if len(s) == 4 && !strings.Contains(s, ":") {
		hh, mm = s[:2], s[2:]
	}
	if len(hh) != 2 || mm != "" && len(mm) != 2 {
		return 0, false
	}
	h, err1 := strconv.Atoi(hh)
	m := 0
	var err2 error
	if mm != "" {
		m, err2 = strconv.Atoi(mm)
	}
	if err1 != nil || err2 != nil || h < 0 || h > 14 || m < 0 || m > 59 || hh[0] == '+' || mm != "" && mm[0] == '+' {
		return 0, false
	}
	return h*3600 + m*60, true
}

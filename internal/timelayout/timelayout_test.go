package timelayout

import (
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	malta, err := time.LoadLocation("Europe/Malta")
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	plus0530, err := LoadZone("+05:30")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		layout string
		loc    *time.Location
		want   string // "" for a layout that works, else a substring of the error
	}{
		{"2006-01-02 15:04:05", nil, ""},
		{"2006-01-02 15:04:05", malta, ""},
		{"2006-01-02", nil, ""},
		{"02/01/2006 15:04", nil, ""},
		{"2006-01-02T15:04:05.000", nil, ""},
		{"2006-01-02 15:04:05 -0700", malta, ""},
		{"Mon, 02 Jan 2006 15:04:05 MST", malta, ""},
		{"Jan _2 2006 3:04:05PM", nil, ""},
		{"20060102150405", nil, ""},
		// A layout with an offset reads it from the text, never from the
		// rule's zone, which it may not be able to write: PostgreSQL's
		// "2024-01-15 10:30:00+00" in India.
		{"2006-01-02 15:04:05-07", kolkata, ""},
		{"2006-01-02T15:04:05Z07", plus0530, ""},
		{"2006-01-02 15:04:05 MST -0700", plus0530, ""},
		{"2006-01-02 3:04 -07", kolkata, "(a 12-hour 3 or 03 needs PM)"},
		// A zone name is read through the rule's zone, and an offset zone
		// knows none: IST would be read as UTC.
		{"2006-01-02 15:04:05 MST", plus0530, "cannot read the time it writes"},
		{"2006-01-02 15:04:05 MST", kolkata, ""},
		{"2006", nil, ""},
		{"Submitted 2006-01-02", nil, ""},
		{"YYYY-MM-DD hh:mm:ss", nil, `layout "YYYY-MM-DD hh:mm:ss" has no Go reference-time elements: a Go layout writes the reference time Mon Jan 2 15:04:05 MST 2006 as the times should look (did you mean "2006-01-02 15:04:05"?)`},
		{"yyyy-MM-dd'T'HH:mm:ss.SSS", nil, `(did you mean "2006-01-02'T'15:04:05.000"?)`},
		{"%d/%m/%Y %H:%M", nil, `(did you mean "02/01/2006 15:04"?)`},
		{"2006-MM-DD", nil, `layout "2006-MM-DD" has "MM", which a Go layout reads as literal text`},
		{"15:04:05", nil, `layout "15:04:05" has no year (2006 or 06)`},
		{"2006-01-02 3:04", nil, `does not read back the time it writes: 2031-11-23 19:47:38.123456789 UTC is written "2031-11-23 7:47" and read as 2031-11-23 07:47:00 UTC (a 12-hour 3 or 03 needs PM)`},
		{"2006-13-02", nil, `is written "2031-117-23" and read as 2031-11-23 07:00:00 UTC`}, // 1 is the month, 3 a 12-hour hour
		{"no time here", nil, "has no Go reference-time elements"},
	}
	for _, tt := range tests {
		err := Check(tt.layout, tt.loc)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("Check(%q):\ngot  %q\nwant %q", tt.layout, got, tt.want)
		}
	}
}

func TestLoadZone(t *testing.T) {
	at := time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)
	tests := []struct {
		name string
		want string // at in the zone, or "error"
	}{
		{"Europe/Malta", "2024-01-15T11:30:00+01:00"},
		{"UTC", "2024-01-15T10:30:00Z"},
		{"+05:30", "2024-01-15T16:00:00+05:30"},
		{"-0300", "2024-01-15T07:30:00-03:00"},
		{"+03", "2024-01-15T13:30:00+03:00"},
		{"+15:00", "error"},
		{"+5:30", "error"},
		{"+-1:00", "error"},
		{"Mars/Base", "error"},
		{"", "error"},
	}
	for _, tt := range tests {
		loc, err := LoadZone(tt.name)
		got := "error"
		if err == nil {
			got = at.In(loc).Format(time.RFC3339)
		}
		if got != tt.want {
			t.Errorf("LoadZone(%q): got %s (%v), want %s", tt.name, got, err, tt.want)
		}
	}
}

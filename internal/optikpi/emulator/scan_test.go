package emulator

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tidwall/gjson"
)

func TestSplitRecords(t *testing.T) {
	cases := []struct {
		body   string
		want   []string // the records; nil with wantErr
		single bool
		err    string // "" for success, "many" for errTooMany, else any error
	}{
		{`{"a":1}`, []string{`{"a":1}`}, true, ""},
		{" \n{\"a\":{\"b\":[1,{}]}}\t", []string{`{"a":{"b":[1,{}]}}`}, true, ""},
		{`[{"a":1},{"b":2}]`, []string{`{"a":1}`, `{"b":2}`}, false, ""},
		{"[ {\"a\":1} ,\n {\"b\":2} ]\n", []string{`{"a":1}`, `{"b":2}`}, false, ""},
		{`[{"s":"}]{[,"},{"t":"\"}"}]`, []string{`{"s":"}]{[,"}`, `{"t":"\"}"}`}, false, ""},
		{`[{"s":"\\"},{"t":1}]`, []string{`{"s":"\\"}`, `{"t":1}`}, false, ""},
		{`[{"s":"\\\"]"}]`, []string{`{"s":"\\\"]"}`}, false, ""},
		{`[]`, []string{}, false, ""},
		{`[{"a":1},{"b":2},{"c":3}]`, nil, false, "many"},
		{``, nil, false, "error"},
		{`   `, nil, false, "error"},
		{`"x"`, nil, false, "error"},
		{`[1]`, nil, false, "error"},
		{`[{"a":1},]`, nil, false, "error"},
		{`[{"a":1} {"b":2}]`, nil, false, "error"},
		{`[{"a":1}`, nil, false, "error"},
		{`[{"a":"1}]`, nil, false, "error"},
		{`{"a":1}{"b":2}`, nil, false, "error"},
		{`[{"a":1}] x`, nil, false, "error"},
		{`{"a":[1,2}`, nil, false, "error"},
		{`{]`, nil, false, "error"},
		{`[{"a":[}]`, nil, false, "error"},
	}
	for _, c := range cases {
		recs, single, err := splitRecords([]byte(c.body), 2, nil)
		switch {
		case c.err == "many":
			if !errors.Is(err, errTooMany) {
				t.Errorf("splitRecords(%q) error = %v; want errTooMany", c.body, err)
			}
		case c.err != "":
			if err == nil {
				t.Errorf("splitRecords(%q) = %d records; want an error", c.body, len(recs))
			}
		case err != nil:
			t.Errorf("splitRecords(%q) error = %v; want %q", c.body, err, c.want)
		default:
			got := make([]string, len(recs))
			for i, r := range recs {
				got[i] = string(r.raw)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) || single != c.single {
				t.Errorf("splitRecords(%q) = %q, single %v; want %q, %v", c.body, got, single, c.want, c.single)
			}
		}
	}
}

func FuzzSplitRecords(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"a":"]"},{"b":[{}]}]`, `[{"s":"\\\""}]`, `[]`, `[1`} {
		f.Add([]byte(s))
	}
	for _, c := range fieldCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, _, err := splitRecords(body, 500, nil)
		if err != nil {
			return
		}
		for _, r := range recs {
			if len(r.raw) < 2 || r.raw[0] != '{' || r.raw[len(r.raw)-1] != '}' {
				t.Fatalf("splitRecords(%q) gave record %q; want an object's bytes", body, r.raw)
			}
			// The one pass ends a record where matching brackets does.
			if end, err := skipObject(r.raw, 0); end != len(r.raw) || err != nil {
				t.Fatalf("splitRecords(%q) gave record %q; skipObject ends it at %d, %v", body, r.raw, end, err)
			}
			checkFields(t, r)
		}
		// skipString against the plainest statement of its rule.
		for i, c := range body {
			if c != '"' {
				continue
			}
			got, _ := skipString(body, i)
			if want := closingQuote(body, i); got != want {
				t.Fatalf("skipString(%q, %d) = %d; want %d", body, i, got, want)
			}
		}
	})
}

// closingQuote is skipString's reference: the first quote after b[i] that
// an even number of backslashes precede, or -1.
func closingQuote(b []byte, i int) int {
	for q := i + 1; q < len(b); q++ {
		if b[q] != '"' {
			continue
		}
		n := 0
		for k := q - 1; k > i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
	}
	return -1
}

// fieldCases are records and the event_id and event_time stringField
// finds in them ("-" for none), as gjson.GetBytes does.
var fieldCases = []struct {
	body, id, time string
	irregular      bool
}{
	{`{"event_id":"e1","event_time":"2024-01-15T14:45:00Z"}`, `"e1"`, `"2024-01-15T14:45:00Z"`, false},
	{` {"a":{"event_id":"x"},"b":[1,{"event_id":"y"}],"event_id":"e2"} `, `"e2"`, "-", false},
	{`{"event_id":"first","event_id":"second"}`, `"first"`, "-", false},
	{`{"event_id":7,"event_id":"second"}`, "-", "-", false},
	{`{"event_id":null,"x":true,"y":false,"z":-1.5e+3,"event_time":"t"}`, "-", `"t"`, false},
	{`{"event_id":"a\"b\\","s":"}"}`, `"a\"b\\"`, "-", false},
	{`{ "event_id" : "spaced" , "n" : 0 }`, `"spaced"`, "-", false},
	{`{}`, "-", "-", false},
	// Not plain JSON at the top: gjson's answers.
	{`{"event\u005fid":"escaped"}`, `"escaped"`, "-", true},
	{`{"a":tru,"event_id":"after a bare word"}`, `"after a bare word"`, "-", true},
	{`{"a":1 2,"event_id":"x"}`, `"x"`, "-", true},
	{`{"a" "event_id":"no colon"}`, "-", "-", true},
	{`{"a":1,}`, "-", "-", true},
	{`{"a":01x,"event_time":"z"}`, "-", `"z"`, true},
	// gjson counts a bare ( or ) as a bracket when it skips a nested
	// value, so this event_id is inside "a" for it.
	{`{"a":[(],"event_id":"x","event_time":"t"}`, "-", "-", true},
	{`{"a":{"b":)},"event_id":"x"}`, "-", "-", true},
	{`{"a":{"b":"(c)"},"event_id":"y"}`, `"y"`, "-", true},
}

func TestRecordFields(t *testing.T) {
	for _, c := range fieldCases {
		recs, _, err := splitRecords([]byte(c.body), 1, nil)
		if err != nil || len(recs) != 1 {
			t.Errorf("splitRecords(%q) = %d records, %v; want one", c.body, len(recs), err)
			continue
		}
		r := &recs[0]
		got := [...]string{"-", "-"}
		for f := range got {
			if v := r.stringField(f); v != nil {
				got[f] = string(v)
			}
		}
		if want := [...]string{c.id, c.time}; got != want || r.irregular != c.irregular {
			t.Errorf("%s: event_id %s, event_time %s, irregular %v; want %s, %s, %v", c.body, got[0], got[1], r.irregular, want[0], want[1], c.irregular)
		}
		checkFields(t, *r)
	}
}

// checkFields fails unless r's fields are what gjson finds in it.
func checkFields(t *testing.T, r record) {
	t.Helper()
	for f, name := range fieldNames {
		got := r.stringField(f)
		v := gjson.GetBytes(r.raw, name)
		want := ""
		if v.Type == gjson.String {
			want = v.Raw
			if u := unquote([]byte(v.Raw)); u != v.Str {
				t.Errorf("%s: unquote(%s) = %q; want gjson's %q", r.raw, v.Raw, u, v.Str)
			}
		}
		if string(got) != want {
			t.Errorf("%s: %s = %s; want gjson's %s", r.raw, name, got, want)
		}
	}
}

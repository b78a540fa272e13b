package emulator

import (
	"errors"
	"fmt"
	"testing"
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
		recs, single, err := splitRecords([]byte(c.body), 2)
		switch {
		case c.err == "many":
			if !errors.Is(err, errTooMany) {
				t.Errorf("splitRecords(%q) error = %v; want errTooMany", c.body, err)
			}
		case c.err != "":
			if err == nil {
				t.Errorf("splitRecords(%q) = %q; want an error", c.body, recs)
			}
		case err != nil:
			t.Errorf("splitRecords(%q) error = %v; want %q", c.body, err, c.want)
		default:
			got := make([]string, len(recs))
			for i, r := range recs {
				got[i] = string(r)
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
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, _, err := splitRecords(body, 500)
		if err != nil {
			return
		}
		for _, r := range recs {
			if len(r) < 2 || r[0] != '{' || r[len(r)-1] != '}' {
				t.Fatalf("splitRecords(%q) gave record %q; want an object's bytes", body, r)
			}
		}
	})
}

package mapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

// manyKeys is an object of n keys k0, k1, …, then the keys of extra.
func manyKeys(n int, extra string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	b.WriteString(extra + "}")
	return b.String()
}

func TestScanValueDuplicates(t *testing.T) {
	const none = "(none)"
	tests := []struct {
		name, value string
		want        string // the duplicate key, or none
		escaped     bool
	}{
		{"none", `{"a":1,"b":2}`, none, false},
		{"top level", `{"a":1,"a":2}`, "a", false},
		{"after a nested object", `{"a":1,"b":{"c":2,"d":[1,{"e":3}]},"a":3}`, "a", false},
		{"same key in two objects", `{"a":{"x":1},"b":{"x":2}}`, none, false},
		{"nested", `{"a":{"x":1,"y":2,"x":3}}`, "x", false},
		{"objects in an array", `{"a":[{"k":1},{"k":2}]}`, none, false},
		{"in an array's object", `{"a":[{"k":1,"k":2}]}`, "k", false},
		{"in a string", `{"s":"{\"a\":1,\"a\":2}","t":"a"}`, none, false},
		{"values like keys", `{"a":"b","b":"a","c":"a"}`, none, false},
		{"empty key twice", `{"":1,"":2}`, "", false},
		{"white space", "{ \"a\" : 1 ,\n \"a\" : 2 }", "a", false},
		{"prefix is not the key", `{"amount":1,"amount_minor":2,"amoun":3}`, none, false},
		{"100 keys", manyKeys(100, `"z":1`), none, false},
		{"100 keys, one twice late", manyKeys(100, `"k42":1`), "k42", false},
		{"100 keys, one twice early", `{"k1":0,` + manyKeys(100, `"z":1`)[1:], "k1", false},
		{"escaped key", `{"a":1,"\u0062":2}`, none, true},
	}
	for _, tt := range tests {
		s := scanValue([]byte(tt.value))
		got := none
		if s.hasDup {
			got = s.dup
		}
		if got != tt.want || s.escapedKey != tt.escaped || s.tooDeep {
			t.Errorf("%s: got dup %q, escaped %v, tooDeep %v; want %q, %v, false", tt.name, got, s.escapedKey, s.tooDeep, tt.want, tt.escaped)
		}
	}
}

func TestDupUnescaped(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{`{"a":1,"\u0061":2}`, "a"},
		{`{"x":{"\u0061":1,"a":2}}`, "a"},
		{`{"x":[{"\"":1,"\u0022":2}]}`, `"`},
		{`{"a":1,"\u0062":2}`, ""},
	} {
		got, _ := dupUnescaped(gjson.Parse(tt.value))
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.value, got, tt.want)
		}
	}
}

func TestLastWins(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{`{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{`{"a":1, "b":[{"k":1,"k":{"x":"y"}}, 2, "s"], "a":{"n":[1,2]}}`, `{"a":{"n":[1,2]},"b":[{"k":{"x":"y"}},2,"s"]}`},
		{`{"a":1,"\u0061":2}`, `{"a":2}`},
		{`{"q":"say \"hi\"","q":"x\ny"}`, `{"q":"x\ny"}`},
		{`{"e":{},"l":[],"e":[]}`, `{"e":[],"l":[]}`},
	} {
		got := string(lastWins(nil, gjson.Parse(tt.value)))
		if got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.value, got, tt.want)
		}
	}
}

// Routing and fields read a key's last value by default, as encoding/json
// does; with routing.duplicate_keys: refuse the record is dead-lettered.
func TestDuplicateKeys(t *testing.T) {
	last := testMapper(t, testConfig, false)
	refuse := testMapper(t, strings.Replace(testConfig, "routing:\n", "routing:\n  duplicate_keys: refuse\n", 1), false)
	const deposit = `"status":"OK","id":"e1","ts":1705314600000,"cents":2550,"currency":"EUR"`
	tests := []struct {
		name   string
		m      *Mapper
		value  string
		want   string // the user_id and route mapped, or the failure
		stdlib string // what encoding/json reads as type and player_id
	}{
		{"routed by the last type", last, `{"type":"withdrawal.requested","player_id":"p1",` + deposit + `,"type":"deposit.completed"}`, "deposits p1", "deposit.completed p1"},
		{"field from the last", last, `{"type":"deposit.completed","player_id":"p1",` + deposit + `,"player_id":"p2"}`, "deposits p2", "deposit.completed p2"},
		{"escaped twin", last, `{"type":"x","player_id":"p1",` + deposit + `,"\u0074ype":"deposit.completed"}`, "deposits p1", "deposit.completed p1"},
		{"no duplicates", refuse, `{"type":"deposit.completed","player_id":"p1",` + deposit + `}`, "deposits p1", "deposit.completed p1"},
		{"refused", refuse, `{"type":"withdrawal.requested","player_id":"p1",` + deposit + `,"type":"deposit.completed"}`,
			`unparseable: key "type" is given twice in one object (routing.duplicate_keys is refuse)`, "deposit.completed p1"},
		{"refused, escaped", refuse, `{"type":"deposit.completed","player_id":"p1",` + deposit + `,"\u0070layer_id":"p2"}`,
			`unparseable: key "player_id" is given twice in one object (routing.duplicate_keys is refuse)`, "deposit.completed p2"},
	}
	for _, tt := range tests {
		res, err := tt.m.Map(record("payments", tt.value))
		got := ""
		if err != nil {
			got = err.Error()
			var f *Failure
			if !errors.As(err, &f) || f.Reason != failure.Unparseable {
				t.Errorf("%s: got %v, want an unparseable failure", tt.name, err)
			}
		} else {
			var rec struct {
				UserID string `json:"user_id"`
			}
			_ = json.Unmarshal(res.Record.JSON, &rec)
			got = res.Route + " " + rec.UserID
		}
		if got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, tt.want)
		}
		var std struct {
			Type     string `json:"type"`
			PlayerID string `json:"player_id"`
		}
		if err := json.Unmarshal([]byte(tt.value), &std); err != nil || std.Type+" "+std.PlayerID != tt.stdlib {
			t.Errorf("%s: encoding/json reads %q, want %q (%v)", tt.name, std.Type+" "+std.PlayerID, tt.stdlib, err)
		}
	}
}

// dupReference finds a key given twice in one object with encoding/json's
// tokenizer.
func dupReference(v []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(v))
	type level struct {
		object  bool
		wantKey bool
		keys    map[string]bool
	}
	var stack []*level
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return "", false
		}
		var top *level
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return k, true
				}
				top.keys[k] = true
				top.wantKey = false
				continue
			}
		}
		if top != nil && top.object {
			top.wantKey = true // after a value, a key or the end
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &level{object: true, wantKey: true, keys: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, &level{})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].wantKey = true
			}
		}
	}
}

// FuzzScanDuplicates: on valid JSON, the scan (with dupUnescaped for escaped
// keys) finds a key given twice exactly when encoding/json's tokenizer
// does, and lastWins leaves none.
func FuzzScanDuplicates(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":1},"b":[{"c":1,"c":2}]}`, `{"a":1,"\u0061":2}`, manyKeys(70, `"k3":1`), `{"s":"\"a\":1"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !json.Valid(v) || !gjson.ValidBytes(v) {
			return
		}
		s := scanValue(v)
		if s.tooDeep {
			return
		}
		found := s.hasDup
		if s.escapedKey && !found {
			_, found = dupUnescaped(gjson.ParseBytes(v))
		}
		_, want := dupReference(v)
		if found != want {
			t.Fatalf("%s: scan found a duplicate: %v, encoding/json: %v", v, found, want)
		}
		if found {
			out := lastWins(nil, gjson.ParseBytes(v))
			if !json.Valid(out) {
				t.Fatalf("lastWins(%s) = %s, not JSON", v, out)
			}
			if k, dup := dupReference(out); dup {
				t.Fatalf("lastWins(%s) = %s, still has %q twice", v, out, k)
			}
		}
	})
}

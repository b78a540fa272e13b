package mapper

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPlainOnlyFromTheRecord: a string a path makes rather than reads from
// the checked value (here a static "!" literal of the config, holding a
// tab) is not promised plain, so the encoder escapes it.
func TestPlainOnlyFromTheRecord(t *testing.T) {
	cfg := strings.Replace(testConfig, "        payment_method: method\n",
		"        payment_method: \"!\\\"a\\tb\\\"\"\n", 1)
	m := testMapper(t, cfg, false)
	res, err := m.Map(record("payments", `{"type":"deposit.completed","status":"OK","id":"e1","player_id":"p1","ts":1705314600000,"cents":2550,"currency":"EUR","method":"card","txn":"t1"}`))
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	var got struct {
		PaymentMethod string `json:"payment_method"`
	}
	if err := json.Unmarshal(res.Record.JSON, &got); err != nil || got.PaymentMethod != "a\tb" {
		t.Fatalf("got %s (%v), payment_method %q; want valid JSON with %q", res.Record.JSON, err, got.PaymentMethod, "a\tb")
	}
}

// TestPlainJSONOnlyFromTheRecord: @fromstr of a string without escapes
// views the record's text, yet what it makes need not be valid JSON; the
// JSON field it fills is validated, and the record refused, as ever.
func TestPlainJSONOnlyFromTheRecord(t *testing.T) {
	cfg := strings.Replace(testConfig, "        event_time: {meta: timestamp}\n",
		"        event_time: {meta: timestamp}\n        event_data: \"data|@fromstr\"\n", 1)
	m := testMapper(t, cfg, false)
	const refused = "invalid: route misc-system: event_data: must be an object or a string holding JSON"
	for _, tc := range []struct{ data, want string }{
		{`{1`, refused}, {`{]`, refused}, {`{}}`, refused}, {`{ `, refused}, {`{}`, ""},
	} {
		res, err := m.Map(record("misc", `{"kind":"m","data":"`+tc.data+`"}`))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("data %q: got %s, error %q; want error %q", tc.data, res.Record.JSON, got, tc.want)
		}
	}
}

// TestPlainNumberOnlyFromTheRecord: @fromstr of a string without escapes
// views the record's text, and gjson reads what it makes as a number up to
// a delimiter, valid or not ("1abc", "01", "+1"); the number field it fills
// is validated, and the record refused, as ever.
func TestPlainNumberOnlyFromTheRecord(t *testing.T) {
	const refused = "invalid: route brand2-withdrawals: amount: must be a number"
	for _, path := range []string{"amount|@fromstr", "amount.@fromstr"} {
		cfg := strings.Replace(testConfig, "        amount: amount\n", "        amount: \""+path+"\"\n", 1)
		m := testMapper(t, cfg, false)
		for _, tc := range []struct{ amount, want string }{
			{`1abc`, refused}, {`01`, refused}, {`1.`, refused}, {`-`, refused},
			{`+1`, refused}, {`1e`, refused}, {`1.5`, ""}, {`-0`, ""},
		} {
			res, err := m.Map(record("payments", `{"type":"withdrawal.x","brand":2,"player_id":"p1","ts":1705314600000,"amount":"`+tc.amount+`","method":"card","txn":"t1"}`))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("%s of %q: got %s, error %q; want error %q", path, tc.amount, res.Record.JSON, got, tc.want)
			}
		}
	}
}

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

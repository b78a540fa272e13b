package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The expressions example validates and maps its records as it says: by
// the key, a CloudEvents ce_type header and expressions; a broken
// expression fails validate with its file, line and key.
func TestMapTestExpressions(t *testing.T) {
	const cfg = "testdata/expressions/config.yaml"
	code, out, errOut := relay(t, "", "validate", "--no-secrets", "--config", cfg)
	if code != 0 || !strings.Contains(out, "ok (1 destinations, 4 routes") {
		t.Fatalf("validate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = relay(t, "", "map", "test", "--config", cfg, "--input", "record", "--file", "testdata/expressions/records.jsonl")
	t.Logf("relay map test:\n%s", out)
	for _, want := range []string{
		"line 1 (casino-events/0/1): route signups -> account",
		`"event_time": "2026-11-29T10:00:00Z"`, // 11:00 in Malta
		"line 2 (casino-events/0/2): route withdrawals -> withdraw",
		`"event_time": "2026-11-29T10:00:01.123Z",`,
		`"amount": 25.5,`,
		`"currency": "EUR"`,
		"line 3 (casino-events/0/3): route bets -> gaming_activity",
		`"event_name": "Bet Lost",`,
		`"loss_amount": 7.8,`,
		`"game_title": "Book of Dead",`,
		"line 4 (casino-events/0/4): skipped by route test-players",
		"3 mapped, 1 skipped, 0 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("map test lacks %q", want)
		}
	}
	if code != 0 {
		t.Errorf("map test: exit %d, stderr %q", code, errOut)
	}

	src, err := os.ReadFile("../../" + cfg)
	if err != nil {
		t.Fatal(err)
	}
	const good = "amount: {expr: 'abs(value.cents) / 100'}"
	line := strings.Count(string(src)[:strings.Index(string(src), good)], "\n") + 1
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	broken := strings.Replace(string(src), good, "amount: {expr: 'abs(value.cent) / hundred'}", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = relay(t, "", "validate", "--no-secrets", "--config", bad)
	want := bad + ":" + strconv.Itoa(line) + ": routing.routes[2].fields.amount.expr: unknown name hundred (column 19 of the expression)"
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("validate of a bad expression: exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
}

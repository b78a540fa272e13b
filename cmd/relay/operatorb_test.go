package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The second operator schema of docs/mapping.md ("A worked example") maps
// its records to exactly the Optikpi records in expected.jsonl: a signup
// fanned out to two models, local times with the zone from the record,
// cents, a negative withdrawal, epoch microseconds, a duplicate key, a
// header-skipped test record, a tombstone and a bad zone.
func TestOperatorBExample(t *testing.T) {
	const dir = "testdata/operator-b/"
	code, out, errOut := relay(t, "", "validate", "--no-secrets", "--config", dir+"config.yaml")
	if code != 0 || !strings.Contains(out, "ok (1 destinations, 5 routes") {
		t.Fatalf("validate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	args := []string{"map", "test", "--config", dir + "config.yaml", "--input", "record", "--file", dir + "records.jsonl"}
	code, out, errOut = relay(t, "", append(args, "--expect", dir+"expected.jsonl")...)
	if code != 0 || !strings.Contains(out, "9 results as expected (5 mapped, 2 skipped, 1 failed)") {
		t.Fatalf("map test --expect: exit %d, stdout:\n%s\nstderr %q; want 0 and 9 results as expected", code, out, errOut)
	}

	// The golden file is a real check: change one expected value and the
	// difference is reported, naming the input, and fails the command.
	want, err := os.ReadFile("../../" + dir + "expected.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(want), `"amount":25.5`, `"amount":25.05`, 1)
	if changed == string(want) {
		t.Fatal(`expected.jsonl has no "amount":25.5 to change`)
	}
	bad := filepath.Join(t.TempDir(), "expected.jsonl")
	if err := os.WriteFile(bad, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = relay(t, "", append(args, "--expect", bad)...)
	if code != 1 || !strings.Contains(out, "result 3 (line 2 (casino.events/3/1002)):") || !strings.Contains(out, `"amount":25.05`) {
		t.Errorf("map test against a changed expectation: exit %d, stdout:\n%s\nwant 1 and result 3 reported", code, out)
	}

	// A misspelt key in the golden file is refused, not read as "expect nothing".
	if err := os.WriteFile(bad, []byte(`{"input":"line 1","modle":"deposit"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = relay(t, "", append(args, "--expect", bad)...)
	if code != 2 || !strings.Contains(errOut, `unknown field "modle"`) {
		t.Errorf("map test with a misspelt expectation: exit %d, stderr %q; want 2 naming the field", code, errOut)
	}
}

// Each row of docs/mapping.md's "Every transform, with an example" is a
// field of testdata/transforms, mapped to what the table says.
func TestTransformTable(t *testing.T) {
	const dir = "testdata/transforms/"
	code, out, errOut := relay(t, "", "map", "test", "--config", dir+"config.yaml", "--topic", "t",
		"--file", dir+"values.jsonl", "--expect", dir+"expected.jsonl")
	if code != 0 {
		t.Fatalf("map test --expect: exit %d, stdout:\n%s\nstderr %q", code, out, errOut)
	}
	want, err := os.ReadFile("../../" + dir + "expected.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{
		`"a":"2024-01-15T10:30:00.500Z"`, `"c":"2024-01-15T10:30:00.123Z"`, `"d":"2024-01-15T10:30:00.123Z"`,
		`"e2":"2024-01-15T10:30:00Z"`, `"h":"2024-01-15T10:30:00Z"`, `"i":"1990-04-02"`, `"j":10.5`,
		`"l":25.00`, `"n":true`, `"o":"{\"tier\":\"gold\"}"`, `"p":{"lang":"mt"}`, `"r":"mapped"`,
		`"why":"integer: \"20.5\" is not a whole number"`,
	} {
		if !strings.Contains(string(want), field) {
			t.Errorf("expected.jsonl lacks %s, which docs/mapping.md shows", field)
		}
	}
}

// TestOperatorBEventNames: where the API guide lists the event names of a
// model ("Name of the deposit event (Successful Deposit|...)"), every
// record of the worked example uses one of them: the example is what an
// operator copies, so a name the guide does not list would be copied too.
func TestOperatorBEventNames(t *testing.T) {
	guide, err := os.ReadFile("../../internal/optikpi/testdata/optikpi-api-guide.md")
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`^### (.+) Event$`)
	names := regexp.MustCompile(`^\| event_name \| String \| Yes \| Name of the .* event \((.+)\) \|$`)
	listed := map[string][]string{} // by event_category
	category := ""
	for _, line := range strings.Split(string(guide), "\n") {
		if m := heading.FindStringSubmatch(line); m != nil {
			category = m[1]
		} else if m := names.FindStringSubmatch(line); m != nil {
			listed[category] = strings.Split(strings.ReplaceAll(m[1], `\|`, "|"), "|")
		}
	}
	if len(listed["Deposit"]) == 0 || len(listed["Withdraw"]) == 0 {
		t.Fatalf("read no deposit or withdraw event names from the guide: %q", listed)
	}
	expected, err := os.ReadFile("../../testdata/operator-b/expected.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(expected)), "\n") {
		var res struct {
			Input  string
			Record struct {
				Category string `json:"event_category"`
				Name     string `json:"event_name"`
			}
		}
		if err := json.Unmarshal([]byte(line), &res); err != nil {
			t.Fatal(err)
		}
		if want := listed[res.Record.Category]; want != nil && !slices.Contains(want, res.Record.Name) {
			t.Errorf("%s: %s event_name %q; the guide lists %q", res.Input, res.Record.Category, res.Record.Name, want)
		}
	}
}

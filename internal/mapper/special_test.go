package mapper

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTombstonesAndEmptyValues: routing.tombstones and routing.empty skip
// or dead-letter records without a value and with an empty one, each on
// its own; dead-lettering stays the default.
func TestTombstonesAndEmptyValues(t *testing.T) {
	with := func(lines string) *Mapper {
		return testMapper(t, strings.Replace(testConfig, "routing:\n", "routing:\n"+lines, 1), false)
	}
	mappers := map[string]*Mapper{
		"default":         testMapper(t, testConfig, false),
		"tombstones skip": with("  tombstones: skip\n"),
		"empty skip":      with("  empty: skip\n"),
		"both skip":       with("  tombstones: skip\n  empty: skip\n  unmatched: dlq\n"),
	}
	tests := []struct {
		mapper, value string // "<nil>" for a tombstone
		want          string // "skipped" or the failure
	}{
		{"default", "<nil>", "unparseable: no value (a tombstone)"},
		{"default", "", "unparseable: empty value"},
		{"default", " \n", "unparseable: empty value"},
		{"tombstones skip", "<nil>", "skipped"},
		{"tombstones skip", "", "unparseable: empty value"},
		{"empty skip", "<nil>", "unparseable: no value (a tombstone)"},
		{"empty skip", "", "skipped"},
		{"empty skip", "\t ", "skipped"},
		{"both skip", "<nil>", "skipped"},
		{"both skip", "", "skipped"},
		{"both skip", "{", "unparseable: not valid JSON"},
		{"both skip", `{"type":"chargeback.opened"}`, "unrouted: no route matches"},
	}
	for _, tt := range tests {
		rec := record("payments", tt.value)
		if tt.value == "" {
			rec.Value = []byte{} // empty, not a tombstone
		}
		res, err := mappers[tt.mapper].Map(rec)
		got := "skipped"
		switch {
		case err != nil:
			got = err.Error()
		case !res.Skipped || res.Route != "":
			got = "mapped by " + res.Route
		}
		if got != tt.want {
			t.Errorf("%s, value %q: got %s, want %s", tt.mapper, tt.value, got, tt.want)
		}
	}
}

// relay map test says why a record without a route was skipped.
func TestMapTestSaysWhySkipped(t *testing.T) {
	m := testMapper(t, strings.Replace(testConfig, "routing:\n", "routing:\n  tombstones: skip\n  empty: skip\n  unmatched: skip\n", 1), false)
	inputs := []TestInput{
		{Label: "entry 1", Record: &kgo.Record{Topic: "payments"}},
		{Label: "entry 2", Record: &kgo.Record{Topic: "payments", Value: []byte(" ")}},
		{Label: "entry 3", Record: &kgo.Record{Topic: "payments", Value: []byte(`{"type":"x"}`)}},
	}
	var out bytes.Buffer
	if _, err := MapTest(m, inputsOf(inputs), &out); err != nil {
		t.Fatal(err)
	}
	want := `entry 1: skipped (a tombstone; routing.tombstones is skip)
entry 2: skipped (an empty value; routing.empty is skip)
entry 3: skipped (no route matches; routing.unmatched is skip)
`
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// A template_json field stays valid JSON through the encoder when a value
// holds quotes, backslashes and control characters; a plain template of
// JSON text does not, which is why template_json exists.
func TestTemplateJSONEncoded(t *testing.T) {
	cfg := strings.Replace(testConfig, "        event_time: {meta: timestamp}\n",
		"        event_time: {meta: timestamp}\n        event_data: {template_json: '{\"by\": ${who}, \"note\": \"from ${who}\", \"n\": ${n}}'}\n", 1)
	m := testMapper(t, cfg, false)
	res, err := m.Map(record("misc", `{"kind":"note","who":"O\"Neil \\ \n","n":3}`))
	if err != nil {
		t.Fatal(err)
	}
	got := string(res.Record.JSON)
	want := `{"account_id":"acc-1","workspace_id":"ws-1","event_category":"SystemEvent","event_name":"note","event_id":"relay-misc-7-99","event_time":"2024-01-15T10:30:00Z","event_data":{"by":"O\"Neil \\ \n","note":"from O\"Neil \\ \n","n":3}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	plain := strings.Replace(cfg, "template_json:", "template:", 1)
	plain = strings.Replace(plain, "template: '", "transform: json_object, template: '", 1)
	_, err = testMapper(t, plain, false).Map(record("misc", `{"kind":"note","who":"O\"Neil","n":3}`))
	if err == nil || !strings.Contains(err.Error(), "json_object: want an object or a string holding one") {
		t.Errorf("a plain template with a quote in a value: got %v, want a json_object error", err)
	}
}

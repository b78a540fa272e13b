package mapper

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRunMapTest(t *testing.T) {
	m := testMapper(t, testConfig, false)
	in := strings.Join([]string{
		`{"type":"deposit.completed","status":"OK","id":"e1","player_id":"p1","ts":1705314600000,"cents":2550,"currency":"EUR"}`,
		``,
		`{"type":"deposit.completed","test":true}`,
		`{"type":"chargeback.opened"}`,
		`{"type":"deposit.completed","status":"OK","player_id":"p1","ts":"soon","cents":1,"currency":"EUR"}`,
		`not json`,
	}, "\n")
	var out bytes.Buffer
	n, err := RunMapTest(m, "payments", strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `line 1: route deposits -> deposit (/events/deposit) at destination main
{
  "account_id": "acc-1",
  "workspace_id": "ws-1",
  "user_id": "p1",
  "event_category": "Deposit",
  "event_name": "Successful Deposit",
  "event_id": "e1",
  "event_time": "2024-01-15T10:30:00Z",
  "amount": 25.5
}
line 3: skipped by route test-traffic
line 4: FAILED unrouted
  why:   no route matches
line 5: FAILED invalid
  route: deposits
  field: event_time
  why:   unix_millis: want a number, got "soon"
line 6: FAILED unparseable
  why:   not valid JSON
`
	if want := (TestCounts{Mapped: 1, Skipped: 1, Failed: 3}); n != want {
		t.Errorf("got %+v; want %+v", n, want)
	}
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestRunMapTestSamples is what `relay map test` prints for the reference
// samples: a valid record (or a skip) for every line of every topic.
func TestRunMapTestSamples(t *testing.T) {
	m := exampleMapper(t, true)
	files, _ := filepath.Glob(filepath.Join(samplesDir, "*.jsonl"))
	models := map[string]bool{}
	for _, f := range files {
		in, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		n, err := RunMapTest(m, strings.TrimSuffix(filepath.Base(f), ".jsonl"), in, &out)
		in.Close()
		if err != nil || n.Failed != 0 || n.Mapped == 0 {
			t.Errorf("%s: %+v, err %v:\n%s", f, n, err, out.String())
		}
		for _, line := range strings.Split(out.String(), "\n") {
			if _, rest, found := strings.Cut(line, " -> "); found {
				models[strings.Fields(rest)[0]] = true
			}
		}
	}
	if len(models) != 9 {
		t.Errorf("map test printed records of %d models, want 9: %v", len(models), models)
	}
}

// MapTest maps records with their key, headers, coordinates and timestamp,
// as the relay does: meta rules read them and a derived event_id comes from
// the record's own coordinates, not from a line number.
func TestMapTestRecords(t *testing.T) {
	cfg := strings.Replace(testConfig, `        user_id: player_id
        event_name: {const: Withdrawal}
        event_time: {path: ts, transform: unix_millis}`, `        user_id: {meta: key}
        event_name: {meta: "header:ce_name"}
        event_time: {meta: timestamp}`, 1)
	m := testMapper(t, cfg, false)
	inputs := []TestInput{
		{Label: "entry 1", Record: &kgo.Record{
			Topic: "payments", Partition: 7, Offset: 99, Key: []byte("player-9"),
			Headers:   []kgo.RecordHeader{{Key: "ce_name", Value: []byte("Withdrawal Requested")}},
			Timestamp: time.UnixMilli(1705314600000),
			Value:     []byte(`{"type":"withdrawal.requested","brand":2,"amount":10}`),
		}},
		{Label: "entry 2", Err: errors.New("bad line")},
		{Label: "entry 3", Record: &kgo.Record{Topic: "payments", Value: []byte(`{"type":"withdrawal.requested","brand":2,"amount":10}`)}},
	}
	var out bytes.Buffer
	n, err := MapTest(m, inputsOf(inputs), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `entry 1: route brand2-withdrawals -> withdraw (/events/withdraw) at destination brand2
{
  "account_id": "acc-2",
  "workspace_id": "ws-2",
  "user_id": "player-9",
  "event_category": "Withdraw",
  "event_name": "Withdrawal Requested",
  "event_id": "relay-payments-7-99",
  "event_time": "2024-01-15T10:30:00Z",
  "amount": 10
}
entry 2: FAILED not a record: bad line
entry 3: FAILED invalid
  route: brand2-withdrawals
  field: user_id
  why:   missing required field
`
	if want := (TestCounts{Mapped: 1, Failed: 2}); n != want {
		t.Errorf("got %+v; want %+v", n, want)
	}
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// inputsOf returns the inputs one by one, then io.EOF.
func inputsOf(inputs []TestInput) func() (TestInput, error) {
	return func() (TestInput, error) {
		if len(inputs) == 0 {
			return TestInput{}, io.EOF
		}
		in := inputs[0]
		inputs = inputs[1:]
		return in, nil
	}
}

// A reading error of next ends MapTest with that error.
func TestMapTestReadError(t *testing.T) {
	m := testMapper(t, testConfig, false)
	boom := errors.New("boom")
	_, err := MapTest(m, func() (TestInput, error) { return TestInput{}, boom }, io.Discard)
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want boom", err)
	}
}

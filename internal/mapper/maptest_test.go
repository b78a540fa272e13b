package mapper

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	ok, failed, err := RunMapTest(m, "payments", strings.NewReader(in), &out)
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
	if ok != 2 || failed != 3 {
		t.Errorf("got ok %d, failed %d; want 2, 3", ok, failed)
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
		ok, failed, err := RunMapTest(m, strings.TrimSuffix(filepath.Base(f), ".jsonl"), in, &out)
		in.Close()
		if err != nil || failed != 0 || ok == 0 {
			t.Errorf("%s: ok %d, failed %d, err %v:\n%s", f, ok, failed, err, out.String())
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

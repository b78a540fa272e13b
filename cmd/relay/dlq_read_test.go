package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/mapper"
)

const dlqTestTopic = "optikpi.dlq" // config.example.yaml's

// dlqTestFailedAt is when the first test letter failed.
var dlqTestFailedAt = time.Date(2026, 11, 29, 3, 10, 0, 0, time.UTC)

// depositValue maps through the test configuration, whose deposits route
// takes user_id from the key; it has no event_id, so one is derived.
const depositValue = `{"type":"deposit.completed","status":"DEPOSIT_OK","created_at":"2026-11-29T03:09:59Z","txn_id":"t-1","amount_minor":2500,"currency":"EUR","method":"CARD","note":"a b ü \"q\" \u00e9"}`

// dlqTestEntries are the dead letters of the tests, in the order written:
// two reasons and more, a duplicate written after a restart, a non-JSON
// value with a binary key, an entry a replay wrote back.
func dlqTestEntries() []dlq.Entry {
	at := dlqTestFailedAt
	src := func(topic string, p int32, off int64, key []byte, value string, hs ...kgo.RecordHeader) *kgo.Record {
		return &kgo.Record{Topic: topic, Partition: p, Offset: off, Key: key, Value: []byte(value), Headers: hs, Timestamp: at.Add(-time.Second)}
	}
	ceType := kgo.RecordHeader{Key: "ce_type", Value: []byte("deposit.completed, v2")}
	return []dlq.Entry{
		{Source: src("payments", 0, 10, []byte("player-1"), depositValue, ceType), Reason: failure.Invalid,
			Message: "field user_id: missing required field", Route: "deposits", Destination: "main", Endpoint: "/events/deposit", FailedAt: at},
		{Source: src("payments", 1, 5, []byte("player-2"), `{"event_id":"pay_1","type":"deposit.completed","currency":"XXX"}`), Reason: failure.Rejected,
			Message: "optikpi: 400 Bad Request", Route: "deposits", Destination: "main", Endpoint: "/events/deposit", Status: 400,
			APIError: []byte(`{"error":"ValidationError","message":"currency XXX unknown"}`), Attempts: 1, EventID: "pay_1", FailedAt: at.Add(30 * time.Minute)},
		{Source: src("players", 0, 7, []byte{0xff, 0x01}, "not json at all"), Reason: failure.Unparseable, Message: "not valid JSON", FailedAt: at.Add(55 * time.Minute)},
		// The first one again: an abandoned drain, restarted.
		{Source: src("payments", 0, 10, []byte("player-1"), depositValue, ceType), Reason: failure.Invalid,
			Message: "field user_id: missing required field", Route: "deposits", Destination: "main", Endpoint: "/events/deposit", FailedAt: at.Add(70 * time.Minute)},
		{Source: src("payments", 1, 6, []byte("player-2"), `{"event_id":"pay_2","type":"deposit.completed"}`), Reason: failure.RetriesExhausted,
			Message: "optikpi: 503 Service Unavailable", Route: "deposits", Destination: "main", Endpoint: "/events/deposit", Status: 503,
			Attempts: 10, EventID: "pay_2", FailedAt: at.Add(80 * time.Minute), Replays: 1, ReplayRun: "replay-20261129"},
	}
}

// newDLQTestConfig starts kfake, writes the test dead letters and a stray
// record that is no dead letter, and returns a configuration file (the
// example's, pointed at kfake) to read them with.
func newDLQTestConfig(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, dlqTestTopic, "payments", "players"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	w, err := dlq.NewWriter(cl, dlq.Options{Topic: dlqTestTopic, Version: "v-test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range dlqTestEntries() {
		done := make(chan error, 1)
		w.Write(context.Background(), e, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	stray := &kgo.Record{Topic: dlqTestTopic, Key: []byte("k"), Value: []byte("written by hand")}
	if err := cl.ProduceSync(context.Background(), stray).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return writeTestConfig(t, c.ListenAddrs())
}

func writeTestConfig(t *testing.T, brokers []string) string {
	t.Helper()
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The example names its brokers by ${KAFKA_BROKERS}, as operators do.
	t.Setenv("KAFKA_BROKERS", strings.Join(brokers, ","))
	cfg := string(example)
	// The fix being checked: the player id is the record's key.
	const deposits = "    - name: deposits\n      topic: payments\n      when: {path: type, in: [deposit.completed, deposit.failed]}\n      model: deposit\n      fields:\n        user_id: player_id\n"
	if !strings.Contains(cfg, deposits) {
		t.Fatal("config.example.yaml's deposits route changed; update the test")
	}
	cfg = strings.Replace(cfg, deposits, strings.Replace(deposits, "user_id: player_id", "user_id: {meta: key}", 1), 1)
	path := filepath.Join(t.TempDir(), "relay.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDLQSummary(t *testing.T) {
	cfg := newDLQTestConfig(t)
	code, out, errOut := relay(t, "", "dlq", "summary", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	t.Logf("relay dlq summary:\n%s", out)
	for _, want := range []string{
		"optikpi.dlq: 6 dead letters read, 6 selected\n",
		"  failures:   2026-11-29T03:10:00Z to 2026-11-29T04:30:00Z\n",
		"  duplicates: 1 (entries whose source record an earlier entry has; 4 distinct source records)\n",
		"  replayed:   1 ",
		"  unreadable: 1 (first at partition 0 offset 5: dlq: not a dead letter; see relay dlq inspect)\n",
		"\nreason               count   share\ninvalid                  2   40.0%\nrejected                 1   20.0%\nretries_exhausted        1   20.0%\nunparseable              1   20.0%\n",
		"\ntopic       count   share\npayments        4   80.0%\nplayers         1   20.0%\n",
		"\nroute       count   share\ndeposits        4   80.0%\n(none)          1   20.0%\n",
		"\nstatus    count   share\n(none)        3   60.0%\n400           1   20.0%\n503           1   20.0%\n",
		// Hours in time order.
		"\nhour                 count   share\n2026-11-29T03:00Z        2   40.0%\n2026-11-29T04:00Z        3   60.0%\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = relay(t, "", "dlq", "summary", "--config", cfg, "--reason", "invalid", "--by", "reason,route,reason", "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var s struct {
		Read, Selected, Unreadable, Duplicates, Replayed int
		Sources                                          int    `json:"distinct_sources"`
		Oldest                                           string `json:"oldest_failure"`
		Newest                                           string `json:"newest_failure"`
		By                                               map[string][]count
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := []count{{"invalid", 2}}
	if s.Read != 6 || s.Selected != 2 || s.Unreadable != 0 || s.Duplicates != 1 || s.Sources != 1 || s.Replayed != 0 ||
		s.Oldest != "2026-11-29T03:10:00Z" || s.Newest != "2026-11-29T04:20:00Z" || len(s.By) != 2 || !slices.Equal(s.By["reason"], want) {
		t.Errorf("got %+v, want 6 read, 2 selected, 1 duplicate of 1 source, 03:10 to 04:20, by reason and route: %v", s, want)
	}
}

func TestDLQInspect(t *testing.T) {
	cfg := newDLQTestConfig(t)
	code, out, errOut := relay(t, "", "dlq", "inspect", "--config", cfg)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	t.Logf("relay dlq inspect:\n%s", out)
	for _, want := range []string{
		"=== optikpi.dlq partition 0 offset 0, written 2026-11-29T03:10:00Z\nreason:      invalid\nerror:       field user_id: missing required field\nroute:       deposits (destination main)\nendpoint:    /events/deposit\n",
		"source:      payments/0/10 (topic/partition/offset), at 2026-11-29T03:09:59Z\nkey:         \"player-1\"\nheaders:\n  \"ce_type\": \"deposit.completed, v2\"\nvalue:\n  {\n    \"type\": \"deposit.completed\",",
		"status:      400\n",
		"api error:\n  {\n    \"error\": \"ValidationError\",\n    \"message\": \"currency XXX unknown\"\n  }\n",
		"key:         \"\\xff\\x01\"\nheaders:     (none)\nvalue:\n  \"not json at all\"\n",
		"=== optikpi.dlq partition 0 offset 3, written 2026-11-29T04:20:00Z\n(duplicate of the same source record: first at partition 0 offset 0)\n",
		"replays:     1 (run replay-20261129)\n",
		"UNREADABLE:  dlq: not a dead letter\nkey:         \"k\"\nheaders:     (none)\nvalue:\n  \"written by hand\"\n",
		"6 dead letters shown, 6 read\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q", want)
		}
	}
	if n := strings.Count(out, "duplicate of the same source record"); n != 1 {
		t.Errorf("%d entries marked duplicate, want 1", n)
	}

	code, out, _ = relay(t, "", "dlq", "inspect", "--config", cfg, "--limit", "2")
	if code != 0 || strings.Count(out, "=== ") != 2 || !strings.HasSuffix(out, "\n2 dead letters shown, 2 read (stopped at --limit)\n") {
		t.Errorf("--limit 2: exit %d:\n%s", code, out)
	}

	code, out, errOut = relay(t, "", "dlq", "inspect", "--config", cfg, "--output", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	entries := dlqTestEntries()
	if len(lines) != len(entries)+1 {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(entries)+1, out)
	}
	for i, e := range entries {
		got, err := dlq.DecodeRecord([]byte(lines[i]))
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if got.Topic != e.Source.Topic || got.Partition != e.Source.Partition || got.Offset != e.Source.Offset ||
			string(got.Key) != string(e.Source.Key) || string(got.Value) != string(e.Source.Value) || !got.Timestamp.Equal(e.Source.Timestamp) ||
			len(got.Headers) != len(e.Source.Headers) {
			t.Errorf("line %d: got %s/%d/%d %q=%q %v, want the source %s/%d/%d %q=%q %v", i+1,
				got.Topic, got.Partition, got.Offset, got.Key, got.Value, got.Headers,
				e.Source.Topic, e.Source.Partition, e.Source.Offset, e.Source.Key, e.Source.Value, e.Source.Headers)
		}
	}
	if !strings.Contains(lines[0], `"value":`+depositValue) {
		t.Errorf("a JSON value is not embedded as it was: %s", lines[0])
	}
	if !strings.Contains(lines[2], `"key_base64":"/wE="`) {
		t.Errorf("the binary key is not base64: %s", lines[2])
	}
	if !strings.Contains(lines[5], `"unreadable":"dlq: not a dead letter"`) {
		t.Errorf("the unreadable letter: %s", lines[5])
	}
}

// The filters select, and --limit counts what they selected.
func TestDLQFilters(t *testing.T) {
	cfg := newDLQTestConfig(t)
	tests := []struct {
		args []string
		want []string // the selected letters' sources, in order
	}{
		{nil, []string{"payments/0/10", "payments/1/5", "players/0/7", "payments/0/10", "payments/1/6", "unreadable"}},
		{[]string{"--reason", "invalid"}, []string{"payments/0/10", "payments/0/10"}},
		{[]string{"--reason", "unparseable,rejected"}, []string{"payments/1/5", "players/0/7"}},
		{[]string{"--topic", "players"}, []string{"players/0/7"}},
		{[]string{"--source", "payments/1/5", "--source", "payments/1/6"}, []string{"payments/1/5", "payments/1/6"}},
		{[]string{"--since", "2026-11-29T04:05:00Z"}, []string{"players/0/7", "payments/0/10", "payments/1/6"}},
		{[]string{"--until", "2026-11-29T03:40:00Z"}, []string{"payments/0/10"}},
		{[]string{"--error-match", "currency X+"}, []string{"payments/1/5"}},
		{[]string{"--error-match", "^optikpi: 5"}, []string{"payments/1/6"}},
		{[]string{"--status", "400,503"}, []string{"payments/1/5", "payments/1/6"}},
		{[]string{"--event-id", "pay_2"}, []string{"payments/1/6"}},
		{[]string{"--event-id", mapper.DerivedEventID("players", 0, 7)}, []string{"players/0/7"}},
		{[]string{"--limit", "2"}, []string{"payments/0/10", "payments/1/5"}},
		{[]string{"--route", "deposits", "--limit", "3"}, []string{"payments/0/10", "payments/1/5", "payments/0/10"}},
		{[]string{"--reason", "too_large"}, nil},
	}
	for _, tt := range tests {
		args := append([]string{"dlq", "inspect", "--config", cfg, "--output", "json"}, tt.args...)
		code, out, errOut := relay(t, "", args...)
		if code != 0 {
			t.Errorf("%v: exit %d, stderr %q", tt.args, code, errOut)
			continue
		}
		var got []string
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			var l struct {
				Unreadable string
				Source     *struct {
					Topic     string
					Partition int32
					Offset    int64
				}
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%v: %v: %s", tt.args, err, sc.Text())
			}
			if l.Unreadable != "" {
				got = append(got, "unreadable")
				continue
			}
			got = append(got, dlq.SourceKey{Topic: l.Source.Topic, Partition: l.Source.Partition, Offset: l.Source.Offset}.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v: got %v, want %v", tt.args, got, tt.want)
		}
	}
}

func TestDLQReadBadUse(t *testing.T) {
	cfg := newDLQTestConfig(t)
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{[]string{"summary"}, 2, "--config is required"},
		{[]string{"summary", "--config", cfg, "--by", "reason,colour"}, 2, `--by: unknown "colour"`},
		{[]string{"inspect", "--config", cfg, "--output", "xml"}, 2, `--output: "xml" is neither text nor json`},
		{[]string{"inspect", "--config", cfg, "--reason", "lost", "--source", "payments/x/1", "--since", "yesterday"}, 2, "--reason: unknown reason \"lost\""},
		{[]string{"inspect", "--config", cfg, "--source", "payments/x/1"}, 2, "--source: source \"payments/x/1\": partition"},
		{[]string{"inspect", "--config", cfg, "--since", "yesterday"}, 2, "--since: \"yesterday\" is neither"},
		{[]string{"inspect", "--config", cfg, "--error-match", "("}, 2, "--error-match: error parsing regexp"},
		{[]string{"summary", "--config", filepath.Join(t.TempDir(), "none.yaml")}, 1, "no such file"},
	}
	for _, tt := range tests {
		code, out, errOut := relay(t, "", append([]string{"dlq"}, tt.args...)...)
		if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("relay dlq %v: exit %d, output %q; want %d and %q", tt.args, code, out+errOut, tt.wantCode, tt.want)
		}
	}
}

// A dead-letter topic that does not exist is an error naming it.
func TestDLQMissingTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "payments"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := writeTestConfig(t, c.ListenAddrs())
	code, _, errOut := relay(t, "", "dlq", "summary", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, `"optikpi.dlq"`) || !strings.Contains(errOut, "UNKNOWN_TOPIC_OR_PARTITION") {
		t.Errorf("exit %d, stderr %q; want 1 and the topic's name", code, errOut)
	}
}

// What inspect prints, map test maps as the records they were: with their
// key and headers, and the event id the relay derived the first time.
func TestDLQInspectIntoMapTest(t *testing.T) {
	cfg := newDLQTestConfig(t)
	code, lines, errOut := relay(t, "", "dlq", "inspect", "--config", cfg, "--reason", "invalid", "--output", "json")
	if code != 0 {
		t.Fatalf("inspect: exit %d, stderr %q", code, errOut)
	}
	// A bare value line among them is still a value of --topic.
	in := lines + `{"type":"deposit.completed","status":"DEPOSIT_OK","created_at":"2026-11-29T03:09:59Z","amount_minor":1,"currency":"EUR"}` + "\n"
	code, out, errOut := relay(t, in, "map", "test", "--config", cfg, "--topic", "payments")
	t.Logf("relay map test:\n%s", out)
	wantDerived := `"event_id": "` + mapper.DerivedEventID("payments", 0, 10) + `"`
	for _, want := range []string{
		"line 1 (payments/0/10): route deposits -> deposit (/events/deposit) at destination main\n",
		"line 2 (payments/0/10): route deposits -> deposit",
		`"user_id": "player-1"`,
		wantDerived,
		"line 3: FAILED invalid\n  route: deposits\n  field: user_id\n", // a value has no key
		"2 mapped, 1 failed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("map test lacks %q", want)
		}
	}
	if n := strings.Count(out, wantDerived); n != 2 {
		t.Errorf("%d records with %s, want 2", n, wantDerived)
	}
	if code != 1 {
		t.Errorf("exit %d, want 1 (one line failed); stderr %q", code, errOut)
	}

	// --input record takes a flat record; --input value takes a dead
	// letter's line as a value, which fails to map as one.
	flat := `{"topic":"payments","partition":2,"offset":77,"key":"player-7","headers":[],"value":` + depositValue + "}\n"
	code, out, _ = relay(t, flat, "map", "test", "--config", cfg, "--input", "record")
	if code != 0 || !strings.Contains(out, `"user_id": "player-7"`) || !strings.Contains(out, mapper.DerivedEventID("payments", 2, 77)) {
		t.Errorf("--input record: exit %d:\n%s", code, out)
	}
	code, out, _ = relay(t, lines, "map", "test", "--config", cfg, "--topic", "payments", "--input", "value")
	if code != 1 || !strings.Contains(out, "line 1: FAILED unrouted") {
		t.Errorf("--input value: exit %d:\n%s", code, out)
	}
	code, out, _ = relay(t, "{}\n", "map", "test", "--config", cfg)
	if code != 1 || !strings.Contains(out, "needs --topic") {
		t.Errorf("a value without --topic: exit %d:\n%s", code, out)
	}
}

func TestDimValueRouteNamesTheOutput(t *testing.T) {
	tests := []struct {
		route, output, want string
	}{
		{"deposits", "", "deposits"},
		{"signup", "profile", "signup/profile"},
		{"", "", "(none)"},
	}
	for _, tt := range tests {
		l := &dlq.Letter{Entry: dlq.Entry{Route: tt.route, Output: tt.output}}
		if got := dimValue("route", l); got != tt.want {
			t.Errorf("route %q, output %q: got %q, want %q", tt.route, tt.output, got, tt.want)
		}
	}
}

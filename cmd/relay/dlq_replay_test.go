package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

const dlqCmdConfig = `
kafka: {brokers: [%[1]s], group: relay, topics: [payments]}
destinations:
  - {name: main, base_url: "%[2]s", account_id: acc-1, workspace_id: ws-1, token_env: DLQ_CMD_TEST_TOKEN}
sink: {linger: 10ms}
dlq: {topic: relay.dlq}
routing:
  routes:
    - name: deposits
      topic: payments
      model: deposit
      fields:
        user_id: %[3]s
        event_name: {const: Successful Deposit}
        event_time: {meta: timestamp}
        amount: amount
`

// newDLQCmdEnv starts kfake (payments with partitions partitions, and the
// dead-letter topic) and an emulator, sets the token's variable, and
// returns write, which writes dlqCmdConfig reading user_id as userID.
func newDLQCmdEnv(t *testing.T, partitions int32) (*kfake.Cluster, *demo.Emulators, func(name, userID string) string) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "payments"), kfake.SeedTopics(1, "relay.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	brokers := strings.Join(c.ListenAddrs(), ",")
	cfg, err := config.Parse(fmt.Appendf(nil, dlqCmdConfig, brokers, "http://127.0.0.1:1/apigw/ingest", "player_id"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	emus, err := demo.StartEmulators(cfg, func(_ string, c *emulator.Config) { c.Strict = false })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emus.Close)
	tok, _ := emus.Tokens["main"].Token()
	t.Setenv("DLQ_CMD_TEST_TOKEN", tok)
	dir := t.TempDir()
	write := func(name, userID string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, fmt.Appendf(nil, dlqCmdConfig, brokers, cfg.Destinations[0].BaseURL, userID), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return c, emus, write
}

// TestDLQTestAndReplayCommands runs the commands as on-call would: exit
// codes, what they print, and that only a real replay sends.
func TestDLQTestAndReplayCommands(t *testing.T) {
	c, emus, write := newDLQCmdEnv(t, 1)
	brokenPath, fixedPath := write("broken.yaml", "player_id"), write("fixed.yaml", "{meta: key}")

	// Two dead letters of deposits without player_id, one of them twice.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	w, err := dlq.NewWriter(cl, dlq.Options{Topic: "relay.dlq"})
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{5, 6, 5} {
		src := &kgo.Record{Topic: "payments", Partition: 0, Offset: off, Key: []byte("p1"), Value: []byte(`{"amount":3}`), Timestamp: time.Now()}
		errc := make(chan error, 1)
		w.Write(context.Background(), dlq.Entry{Source: src, Reason: failure.Invalid, Message: "user_id: missing", Route: "deposits"}, func(err error) { errc <- err })
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	deposits := func() int { return len(emus.EventIDs(optikpi.KindDeposit)) }

	tests := []struct {
		name      string
		args      []string
		code      int
		out       []string // each in stdout
		errOut    string   // in stderr
		sentSoFar int
	}{
		{"test broken", []string{"dlq", "test", "--config", brokenPath, "--reason", "invalid"}, 1,
			[]string{"payments/0/5 dlq 0/2 (+1 duplicates): would fail again: invalid, route deposits, field user_id", "0 would deliver, 2 would fail again (invalid 2)"}, "2 of 2 records would fail again", 0},
		{"test fixed", []string{"dlq", "test", "--config", fixedPath, "--reason", "invalid", "-v"}, 0,
			[]string{"would deliver: route deposits -> main /events/deposit, event_id relay-payments-0-5", `"user_id":"p1"`, "2 selected (1 duplicates collapsed): 2 would deliver, 0 would fail again"}, "", 0},
		{"bad target", []string{"dlq", "replay", "--config", fixedPath, "--to", "kafka"}, 2, nil, "--to", 0},
		{"dry run", []string{"dlq", "replay", "--config", fixedPath, "--reason", "invalid", "--dry-run"}, 0,
			[]string{"would deliver: route deposits", "would deliver           2", "duplicates             1"}, "progress in consumer group relay-replay-", 0},
		{"replay one", []string{"dlq", "replay", "--config", fixedPath, "--reason", "invalid", "--limit", "1"}, 0,
			[]string{"delivered              1", "failed again           0"}, "", 1},
		{"replay the rest", []string{"dlq", "replay", "--config", fixedPath, "--reason", "invalid"}, 0,
			[]string{"already replayed       1", "delivered              1", "failed again           0"}, "", 2},
		{"again", []string{"dlq", "replay", "--config", fixedPath, "--reason", "invalid"}, 0,
			[]string{"already replayed       2 (by this run; --run-id NEW replays them again)", "delivered              0"}, "", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := relay(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout %s\nstderr %s", code, tt.code, out, errOut)
			}
			// Compared with runs of spaces as one: the summary aligns its columns.
			norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
			for _, want := range tt.out {
				if !strings.Contains(norm(out), norm(want)) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if !strings.Contains(errOut, tt.errOut) {
				t.Errorf("stderr lacks %q:\n%s", tt.errOut, errOut)
			}
			if n := deposits(); n != tt.sentSoFar {
				t.Errorf("emulator holds %d deposits, want %d", n, tt.sentSoFar)
			}
		})
	}
}

// TestDLQCommandsCheckSecrets: a dlq command checks the secrets it needs
// before it starts, naming file, line and key as validate does: reading
// the dead-letter topic needs no API token, a replay to Optikpi does.
func TestDLQCommandsCheckSecrets(t *testing.T) {
	_, _, write := newDLQCmdEnv(t, 1)
	path := write("cfg.yaml", "player_id")
	for _, v := range []string{"DLQ_CMD_TEST_TOKEN", "DLQ_CMD_TEST_KAFKA_PASSWORD"} {
		t.Setenv(v, "") // restored after the test
		os.Unsetenv(v)
	}

	for _, args := range [][]string{
		{"summary"}, {"inspect"}, {"test"},
		{"replay", "--dry-run"}, {"replay", "--to", "source"}, {"replay", "--to", "source", "--dry-run"},
	} {
		code, out, errOut := relay(t, "", append(append([]string{"dlq"}, args...), "--config", path)...)
		if code != 0 {
			t.Errorf("dlq %s without the API token: exit %d; want 0\nstdout %s\nstderr %s", strings.Join(args, " "), code, out, errOut)
		}
	}
	code, _, errOut := relay(t, "", "dlq", "replay", "--config", path)
	want := regexp.MustCompile(`cfg\.yaml:\d+: destinations\[0\]\.token_env: token environment variable DLQ_CMD_TEST_TOKEN is not set`)
	if code != 1 || !want.MatchString(errOut) {
		t.Errorf("replay without the API token: exit %d, stderr %q; want 1 and a match of %s", code, errOut, want)
	}

	// Every dlq command reads Kafka, so each checks the Kafka secrets.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sasl := strings.Replace(string(b), "topics: [payments]}", "topics: [payments], sasl: {mechanism: plain, username: u, password_env: DLQ_CMD_TEST_KAFKA_PASSWORD}}", 1)
	saslPath := filepath.Join(t.TempDir(), "sasl.yaml")
	if err := os.WriteFile(saslPath, []byte(sasl), 0o600); err != nil {
		t.Fatal(err)
	}
	want = regexp.MustCompile(`sasl\.yaml:\d+: kafka\.sasl\.password_env: .*DLQ_CMD_TEST_KAFKA_PASSWORD`)
	for _, cmd := range []string{"summary", "inspect", "test", "replay"} {
		code, _, errOut := relay(t, "", "dlq", cmd, "--config", saslPath)
		if code != 1 || !want.MatchString(errOut) {
			t.Errorf("dlq %s without the Kafka password: exit %d, stderr %q; want 1 and a match of %s", cmd, code, errOut, want)
		}
	}
}

package replay_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/replay"
)

const fanoutYAML = `
kafka:
  brokers: [localhost:9092]
  group: relay
  topics: [signups]
  commit_interval: 100ms
destinations:
  - {name: main, base_url: "http://127.0.0.1:1/apigw/ingest", account_id: acc-1, workspace_id: ws-1, token_env: REPLAY_TEST_TOKEN}
sink: {linger: 10ms}
dlq: {topic: relay.dlq}
routing:
  routes:
    - name: signup
      topic: signups
      outputs:
        - name: profile
          model: customer
          fields:
            user_id: player_id
            email: email
            creation_timestamp: {meta: timestamp}
        - name: registration
          model: account
          fields:
            user_id: player_id
            event_name: {const: Player Registration}
            event_time: {meta: timestamp}
`

// TestReplayFanOutSendsOnlyTheFailedOutput: the account service refuses
// the registrations of two signups, and a third signup's profile is
// invalid (its registration goes); a replay once the service is back sends the two registrations
// and the invalid profile again, never a profile or registration that was
// delivered.
func TestReplayFanOutSendsOnlyTheFailedOutput(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "signups"), kfake.SeedTopics(1, "relay.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	t.Setenv("REPLAY_TEST_TOKEN", "unused")
	cfg, err := config.Parse([]byte(fanoutYAML), "fanout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = c.ListenAddrs()
	var refuse atomic.Bool
	refuse.Store(true)
	emus, err := demo.StartEmulators(cfg, func(_ string, c *emulator.Config) {
		c.Strict = false
		c.Reject = func(k optikpi.Kind, r optikpi.Record) string {
			if k == optikpi.KindAccount && r["user_id"] != "p2" && refuse.Load() {
				return "account service down"
			}
			return ""
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emus.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	for i, email := range []string{"p0@example.com", "p1@example.com", "not an email"} {
		r := &kgo.Record{Topic: "signups", Key: fmt.Appendf(nil, "p%d", i), Value: fmt.Appendf(nil, `{"player_id":"p%d","email":%q}`, i, email)}
		if err := cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	logger := zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))
	relayAll(t, cfg, pipeline.Options{Tokens: emus.Tokens, Logger: logger}, kadm.NewClient(cl), "the relay to commit every signup")
	em := emus.ByName["main"]
	counts := func() string {
		return fmt.Sprintf("%d profiles, accounts %q", len(em.Records(optikpi.KindCustomer)), em.EventIDs(optikpi.KindAccount))
	}
	if got, want := counts(), `2 profiles, accounts ["relay-signups-0-2:registration"]`; got != want {
		t.Fatalf("the relay delivered %s; want %s", got, want)
	}

	refuse.Store(false)
	var results []string
	o := replay.Options{
		RunID:    "fix",
		Pipeline: pipeline.Options{Tokens: emus.Tokens, Logger: logger},
		OnResult: func(r replay.Result) {
			results = append(results, fmt.Sprintf("%s %s %s", r.Letter.Key(), r.Outcome, strings.Join(r.Outputs, ",")))
		},
	}
	sum, err := replay.Replay(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("Replay: %v", err)
	}
	slices.Sort(results)
	want := []string{
		"signups/0/0 delivered registration",
		"signups/0/1 delivered registration",
		"signups/0/2 failed again profile",
	}
	if !slices.Equal(results, want) {
		t.Errorf("results:\ngot  %q\nwant %q", results, want)
	}
	if got, want := counts(), `2 profiles, accounts ["relay-signups-0-2:registration" "relay-signups-0-0:registration" "relay-signups-0-1:registration"]`; got != want {
		t.Errorf("after the replay, Optikpi holds %s; want %s", got, want)
	}
	if sum.Counts[replay.Delivered] != 2 || sum.Failed[failure.Invalid] != 1 {
		t.Errorf("summary %+v: want 2 delivered, 1 invalid", sum)
	}

	// The profile written back names its output, so the next replay
	// selects it, and only it, by --route signup/profile.
	sel, err := replay.Select(context.Background(), []kgo.Opt{kgo.SeedBrokers(cfg.Kafka.Brokers...)}, "relay.dlq", dlq.Filter{Routes: []string{"signup/profile"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range sel.Items {
		got = append(got, fmt.Sprintf("%s %q", it.Letter.Key(), it.Outputs()))
	}
	if want := []string{`signups/0/2 ["profile"]`}; !slices.Equal(got, want) {
		t.Errorf("--route signup/profile selects %q, want %q", got, want)
	}

	// With the output renamed, the letter naming "profile" would fail
	// again, saying why, rather than pass as sent and be lost.
	renamed, err := config.Parse([]byte(strings.Replace(fanoutYAML, "name: profile", "name: customer", 1)), "renamed.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	tsum, err := replay.Test(renamed, sel, func(r replay.Result) { msgs = append(msgs, string(r.Outcome)+": "+r.Message) })
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || !strings.Contains(msgs[0], `names output "profile", which the configuration no longer emits`) || tsum.Counts[replay.WouldFail] != 1 {
		t.Errorf("test with the output renamed: %q, summary %+v; want one would-fail naming the output", msgs, tsum)
	}

	// A configuration that now skips the record on purpose (a skip route
	// ahead of the fan-out) skips the letter, as it does one naming no
	// output: nothing is emitted because nothing is wanted.
	skipping, err := config.Parse([]byte(strings.Replace(fanoutYAML, "  routes:\n", "  routes:\n    - {name: drop, topic: signups, when: {path: player_id, exists: true}, skip: true}\n", 1)), "skip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	if _, err := replay.Test(skipping, sel, func(r replay.Result) { outcomes = append(outcomes, string(r.Outcome)+": "+r.Message) }); err != nil {
		t.Fatal(err)
	}
	if want := []string{string(replay.Skipped) + ": "}; !slices.Equal(outcomes, want) {
		t.Errorf("test with the record now skipped: %q; want %q", outcomes, want)
	}
}

func TestItemOutputs(t *testing.T) {
	letter := func(off int64, output string) *dlq.Letter {
		return &dlq.Letter{Partition: 0, Offset: off, Entry: dlq.Entry{Output: output}}
	}
	tests := []struct {
		name    string
		letters []*dlq.Letter
		want    []string
	}{
		{"a route without outputs", []*dlq.Letter{letter(1, "")}, nil},
		{"two failed outputs", []*dlq.Letter{letter(1, "a"), letter(2, "b")}, []string{"a", "b"}},
		{"the same output twice", []*dlq.Letter{letter(1, "a"), letter(5, "a")}, []string{"a"}},
		{"a whole record, then one output of its replay", []*dlq.Letter{letter(1, ""), letter(4, "b")}, []string{"b"}},
		{"an output, then the whole record", []*dlq.Letter{letter(1, "a"), letter(4, "")}, nil},
		{"read out of order", []*dlq.Letter{letter(4, "b"), letter(1, "")}, []string{"b"}},
	}
	for _, tt := range tests {
		it := &replay.Item{Letter: tt.letters[len(tt.letters)-1], Letters: tt.letters}
		if got := it.Outputs(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

package replay_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/replay"
)

// configYAML is the relay's configuration; %s is how user_id is read. The
// broken one reads a field most records lack; the fixed one reads the
// Kafka key, which only a replay with the original key can check.
const configYAML = `
kafka:
  brokers: [localhost:9092]
  group: relay
  client_id: relay
  topics: [players, payments]
  commit_interval: 100ms
destinations:
  - {name: main, base_url: "http://127.0.0.1:1/apigw/ingest", account_id: acc-1, workspace_id: ws-1, token_env: REPLAY_TEST_TOKEN}
sink: {linger: 10ms, misconfigured_retry: 200ms}
dlq: {topic: relay.dlq}
routing:
  unmatched: dlq
  routes:
    - name: profiles
      topic: players
      model: customer
      fields:
        user_id: %[1]s
        email: email
        creation_timestamp: {meta: timestamp}
    - name: deposits
      topic: payments
      model: deposit
      fields:
        user_id: %[1]s
        event_name: {const: Successful Deposit}
        event_time: {meta: timestamp}
        amount: amount
`

const (
	broken = "player_id"
	fixed  = "{meta: key}"
)

type env struct {
	t      *testing.T
	addrs  []string
	emus   *demo.Emulators
	cl     *kgo.Client
	adm    *kadm.Client
	badCfg *config.Config
	cfg    *config.Config // fixed
	// produced source records by their coordinates
	src map[dlq.SourceKey]*kgo.Record
	// the dead-lettered deposits and profiles (reason invalid)
	deposits, profiles []dlq.SourceKey
	// superseded is the profile of p1 that a later one replaces
	superseded dlq.SourceKey
}

func loadConfig(t *testing.T, userID string, addrs []string) *config.Config {
	t.Helper()
	t.Setenv("REPLAY_TEST_TOKEN", "unused") // the emulators' tokens override it
	cfg, err := config.Parse([]byte(fmt.Sprintf(configYAML, userID)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kafka.Brokers = addrs
	return cfg
}

// newEnv relays records through the broken configuration until all are
// committed: the records without player_id are dead-lettered as invalid,
// two unparseable ones as unparseable.
func newEnv(t *testing.T) *env {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "players", "payments"), kfake.SeedTopics(3, "relay.dlq"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	e := &env{t: t, addrs: c.ListenAddrs(), src: map[dlq.SourceKey]*kgo.Record{}}
	e.badCfg = loadConfig(t, broken, e.addrs)
	// Not strict: the guide's optional-but-expected fields are not the point.
	e.emus, err = demo.StartEmulators(e.badCfg, func(_ string, c *emulator.Config) { c.Strict = false })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.emus.Close)
	e.cfg = loadConfig(t, fixed, e.addrs)
	e.cfg.Destinations = e.badCfg.Destinations // the emulators' URLs
	e.cl, err = kgo.NewClient(kgo.SeedBrokers(e.addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.cl.Close)
	e.adm = kadm.NewClient(e.cl)

	ts := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	hdr := []kgo.RecordHeader{{Key: "trace-id", Value: []byte("t-1")}}
	var recs []*kgo.Record
	add := func(topic string, p int32, key, value string) *kgo.Record {
		r := &kgo.Record{Topic: topic, Partition: p, Key: []byte(key), Value: []byte(value), Headers: hdr, Timestamp: ts.Add(time.Duration(len(recs)) * time.Second)}
		recs = append(recs, r)
		return r
	}
	p1old := add("players", 0, "p1", `{"email":"old@example.com"}`)
	add("players", 0, "p1", `{"player_id":"p1","email":"new@example.com"}`)
	p2 := add("players", 1, "p2", `{"email":"p2@example.com"}`)
	var deps []*kgo.Record
	for i := range 10 {
		deps = append(deps, add("payments", int32(i%2), fmt.Sprintf("p%d", i), fmt.Sprintf(`{"amount":%d}`, 10+i)))
	}
	add("payments", 0, "p1", `{"player_id":"p1","amount":5}`)
	add("payments", 1, "p2", `not json`)
	for _, r := range e.cl.ProduceSync(context.Background(), recs...) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		e.src[key(r.Record)] = r.Record
	}
	e.superseded = key(p1old)
	e.profiles = []dlq.SourceKey{key(p1old), key(p2)}
	for _, r := range deps {
		e.deposits = append(e.deposits, key(r))
	}

	relayAll(t, e.badCfg, pipeline.Options{Tokens: e.emus.Tokens, Logger: zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel))}, e.adm, "the broken relay to commit everything")
	if got := e.deliveredDeposits(); len(got) != 1 {
		t.Fatalf("first run delivered deposits %v, want the one with player_id", got)
	}
	return e
}

// relayAll runs a pipeline on cfg with o until every record of its topics
// is committed, and shuts it down; what names the wait in a failure.
func relayAll(t *testing.T, cfg *config.Config, o pipeline.Options, adm *kadm.Client, what string) {
	t.Helper()
	p, err := pipeline.New(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	waitFor(t, what, func() bool {
		gaps, err := pipeline.Uncommitted(context.Background(), adm, cfg.Kafka.Group, cfg.Kafka.Topics)
		return err == nil && len(gaps) == 0
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := p.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
}

func key(r *kgo.Record) dlq.SourceKey {
	return dlq.SourceKey{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset}
}

func derived(k dlq.SourceKey) string { return mapper.DerivedEventID(k.Topic, k.Partition, k.Offset) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) deliveredDeposits() []string { return e.emus.EventIDs(optikpi.KindDeposit) }

// profileEmails are the emails of the profiles the emulator accepted.
func (e *env) profileEmails() []string {
	var out []string
	for _, em := range e.emus.ByName {
		for _, r := range em.Records(optikpi.KindCustomer) {
			for _, s := range []string{"old@", "new@", "p2@"} {
				if bytes.Contains(r, []byte(`"`+s)) {
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func (e *env) dlqEnd() int64 {
	e.t.Helper()
	ends, err := e.adm.ListEndOffsets(context.Background(), "relay.dlq")
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

func (e *env) opts(runID string, f dlq.Filter) replay.Options {
	return replay.Options{
		Filter:   f,
		RunID:    runID,
		Pipeline: pipeline.Options{Tokens: e.emus.Tokens, Logger: zaptest.NewLogger(e.t, zaptest.Level(zapcore.WarnLevel))},
	}
}

func (e *env) replay(ctx context.Context, o replay.Options) (replay.Summary, []replay.Result) {
	e.t.Helper()
	var mu sync.Mutex
	var results []replay.Result
	prev := o.OnResult
	o.OnResult = func(r replay.Result) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
		if prev != nil {
			prev(r)
		}
	}
	sum, err := replay.Replay(ctx, e.cfg, o)
	if err != nil && ctx.Err() == nil {
		e.t.Fatalf("Replay: %v", err)
	}
	return sum, results
}

var invalid = dlq.Filter{Reasons: []failure.Reason{failure.Invalid}}

func TestTestCommand(t *testing.T) {
	e := newEnv(t)
	kopts := []kgo.Opt{kgo.SeedBrokers(e.addrs...)}
	check := func(cfg *config.Config, f dlq.Filter, wantDeliver, wantFail int) []replay.Result {
		t.Helper()
		sel, err := replay.Select(context.Background(), kopts, "relay.dlq", f, 0)
		if err != nil {
			t.Fatal(err)
		}
		var rs []replay.Result
		sum, err := replay.Test(cfg, sel, func(r replay.Result) { rs = append(rs, r) })
		if err != nil {
			t.Fatal(err)
		}
		if sum.Counts[replay.WouldDeliver] != wantDeliver || sum.Failures() != wantFail {
			t.Errorf("would deliver %d, would fail %d; want %d, %d (%+v)", sum.Counts[replay.WouldDeliver], sum.Failures(), wantDeliver, wantFail, sum)
		}
		return rs
	}
	// The fixed configuration delivers every invalid letter, with the
	// derived event id of the first attempt.
	rs := check(e.cfg, invalid, 12, 0)
	for _, r := range rs {
		k := r.Letter.Key()
		if k.Topic == "payments" && r.EventID != derived(k) {
			t.Errorf("%s: event id %q, want %q", k, r.EventID, derived(k))
		}
		if r.Endpoint == "" || r.Route == "" {
			t.Errorf("%s: no route or endpoint: %+v", k, r)
		}
	}
	// The broken one fails them again, naming the field.
	rs = check(e.badCfg, invalid, 0, 12)
	if rs[0].Reason != failure.Invalid || rs[0].Field != "user_id" {
		t.Errorf("failure %s field %q, want invalid user_id", rs[0].Reason, rs[0].Field)
	}
	// Unparseable records stay unparseable whatever the mapping.
	check(e.cfg, dlq.Filter{}, 12, 1)
	if got := e.deliveredDeposits(); len(got) != 1 {
		t.Errorf("dlq test sent deposits: %v", got)
	}
}

// TestReplay is the Done-when: dry run, interrupted replay, resume,
// second replay, superseded profile, same event ids.
func TestReplay(t *testing.T) {
	e := newEnv(t)
	dlqEnd := e.dlqEnd()
	before := e.deliveredDeposits()

	// --dry-run sends and commits nothing.
	o := e.opts("run1", invalid)
	o.DryRun = true
	sum, _ := e.replay(context.Background(), o)
	if sum.Counts[replay.WouldDeliver] != 11 || sum.Counts[replay.Superseded] != 1 {
		t.Errorf("dry run: %+v; want 11 would deliver, 1 superseded", sum.Counts)
	}
	if got := e.deliveredDeposits(); len(got) != len(before) {
		t.Errorf("dry run delivered %v", got)
	}

	// Interrupted after 3 deliveries.
	ctx, cancel := context.WithCancel(context.Background())
	o = e.opts("run1", invalid)
	o.Rate = 50 // leaves time to interrupt halfway
	var delivered int
	o.OnResult = func(r replay.Result) {
		if r.Outcome == replay.Delivered {
			if delivered++; delivered == 3 {
				cancel()
			}
		}
	}
	sum, _ = e.replay(ctx, o)
	cancel()
	first := sum.Counts[replay.Delivered]
	if first < 3 || first >= 11 || sum.NotSent == 0 {
		t.Fatalf("interrupted run delivered %d, left %d; want it stopped halfway", first, sum.NotSent)
	}

	// Restarted: delivers the rest, each once.
	sum, _ = e.replay(context.Background(), e.opts("run1", invalid))
	if got := sum.Counts[replay.Delivered] + first; got != 11 {
		t.Errorf("delivered %d + %d, want 11 in total", first, sum.Counts[replay.Delivered])
	}
	// The superseded profile may have been finished by either run.
	if want := first + 1 - sum.Counts[replay.Superseded]; sum.Counts[replay.AlreadyReplayed] != want {
		t.Errorf("already replayed %d (superseded %d now), want %d", sum.Counts[replay.AlreadyReplayed], sum.Counts[replay.Superseded], want)
	}
	if n := sum.Counts[replay.AlreadyReplayed] + sum.Counts[replay.Delivered] + sum.Counts[replay.Superseded]; n != 12 {
		t.Errorf("restart accounted for %d of 12: %+v", n, sum.Counts)
	}
	if sum.Group != "relay-replay-run1" {
		t.Errorf("group %q", sum.Group)
	}

	// Each dead-lettered deposit is at the emulator once, with the event
	// id of its first attempt.
	got := e.deliveredDeposits()
	count := map[string]int{}
	for _, id := range got {
		count[id]++
	}
	for _, k := range e.deposits {
		if count[derived(k)] != 1 {
			t.Errorf("%s: delivered %d times with id %s, want once", k, count[derived(k)], derived(k))
		}
	}
	if len(got) != len(before)+10 {
		t.Errorf("emulator holds %d deposits, want %d", len(got), len(before)+10)
	}
	// The superseded profile is not; the other is.
	if got, want := e.profileEmails(), []string{"new@", "p2@"}; !slices.Equal(got, want) {
		t.Errorf("profiles delivered %v, want %v", got, want)
	}

	// The same replay again sends nothing.
	sum, _ = e.replay(context.Background(), e.opts("run1", invalid))
	if sum.Counts[replay.AlreadyReplayed] != 12 || sum.Counts[replay.Delivered] != 0 {
		t.Errorf("second replay: %+v, want 12 already replayed", sum.Counts)
	}
	if n := len(e.deliveredDeposits()); n != len(got) {
		t.Errorf("second replay delivered %d more", n-len(got))
	}
	if n := e.dlqEnd(); n != dlqEnd {
		t.Errorf("dead-letter topic grew from %d to %d", dlqEnd, n)
	}

	// --include-superseded, another run: the old profile goes too.
	o = e.opts("run2", dlq.Filter{Sources: []dlq.SourceKey{e.superseded}})
	o.IncludeSuperseded = true
	sum, _ = e.replay(context.Background(), o)
	if sum.Counts[replay.Delivered] != 1 {
		t.Errorf("include superseded: %+v", sum.Counts)
	}
	if got, want := e.profileEmails(), []string{"new@", "old@", "p2@"}; !slices.Equal(got, want) {
		t.Errorf("profiles delivered %v, want %v", got, want)
	}
}

// TestReplayFailsAgain: records that fail again are written back with the
// replay count and the run, not resent by the same run, and stopped by
// --max-replays.
func TestReplayFailsAgain(t *testing.T) {
	e := newEnv(t)
	e.cfg = e.badCfg // not fixed yet
	f := dlq.Filter{Sources: e.deposits[:4]}
	end := e.dlqEnd()

	sum, rs := e.replay(context.Background(), e.opts("bad1", f))
	if sum.Counts[replay.FailedAgain] != 4 || sum.Failed[failure.Invalid] != 4 {
		t.Fatalf("failed again %+v, want 4 invalid", sum)
	}
	if rs[0].Field != "user_id" {
		t.Errorf("field %q, want user_id", rs[0].Field)
	}
	if n := e.dlqEnd(); n != end+4 {
		t.Fatalf("dead-letter topic %d -> %d, want 4 written back", end, n)
	}
	letters := e.letters()
	for _, k := range e.deposits[:4] {
		ls := letters[k]
		last := ls[len(ls)-1]
		if len(ls) != 2 || last.Replays != 1 || last.ReplayRun != "bad1" {
			t.Errorf("%s: %d letters, last replays %d run %q; want 2, 1, bad1", k, len(ls), last.Replays, last.ReplayRun)
		}
	}

	// The same run does not resend them.
	sum, _ = e.replay(context.Background(), e.opts("bad1", f))
	if sum.Counts[replay.AlreadyReplayed] != 4 || sum.Failures() != 0 {
		t.Errorf("same run again: %+v, want 4 already replayed", sum.Counts)
	}
	// Another run does, counting on.
	e.replay(context.Background(), e.opts("bad2", f))
	letters = e.letters()
	if ls := letters[e.deposits[0]]; ls[len(ls)-1].Replays != 2 {
		t.Errorf("replays %d, want 2", ls[len(ls)-1].Replays)
	}
	// --max-replays 2 stops them.
	end = e.dlqEnd()
	o := e.opts("bad3", f)
	o.MaxReplays = 2
	sum, _ = e.replay(context.Background(), o)
	if sum.Counts[replay.OverMaxReplays] != 4 || sum.Failures() != 0 || sum.Duplicates != 8 {
		t.Errorf("max replays: %+v, duplicates %d; want 4 over max replays, 8 duplicates", sum.Counts, sum.Duplicates)
	}
	if n := e.dlqEnd(); n != end {
		t.Errorf("dead-letter topic grew by %d over max replays", n-end)
	}

	// --max bounds what one run sends.
	e.cfg = loadConfig(t, fixed, e.addrs)
	e.cfg.Destinations = e.badCfg.Destinations
	o = e.opts("fixed", dlq.Filter{Sources: e.deposits[4:]})
	o.Max = 2
	sum, _ = e.replay(context.Background(), o)
	if sum.Counts[replay.Delivered] != 2 || sum.NotSent != 4 {
		t.Errorf("--max 2: %+v, not sent %d; want 2 delivered, 4 left", sum.Counts, sum.NotSent)
	}

	// --limit: the progress stops at the first letter the limit left out,
	// so the same run without the limit still replays the rest.
	o = e.opts("lim", dlq.Filter{Sources: e.deposits[4:]})
	o.Limit = 2
	if sum, _ = e.replay(context.Background(), o); sum.Counts[replay.Delivered] != 2 {
		t.Errorf("--limit 2: %+v, want 2 delivered", sum.Counts)
	}
	o.Limit = 0
	sum, _ = e.replay(context.Background(), o)
	if sum.Counts[replay.Delivered] != 4 || sum.Counts[replay.AlreadyReplayed] != 2 {
		t.Errorf("after --limit 2: %+v, want 4 delivered, 2 already replayed", sum.Counts)
	}

	// A run's progress is kept for its selection: the same run id with
	// other filters refuses, rather than count the letters below the
	// progress as replayed; with the same selection it resumes.
	o = e.opts("incident-42", dlq.Filter{Sources: e.deposits[4:6]})
	o.Selection = "first"
	if sum, _ = e.replay(context.Background(), o); sum.Counts[replay.Delivered] != 2 {
		t.Errorf("first selection: %+v, want 2 delivered", sum.Counts)
	}
	before := len(e.deliveredDeposits())
	o = e.opts("incident-42", dlq.Filter{Sources: e.deposits[6:]})
	o.Selection = "second"
	if _, err := replay.Replay(context.Background(), e.cfg, o); !errors.Is(err, replay.ErrOtherSelection) {
		t.Errorf("same run id, other selection: %v, want ErrOtherSelection", err)
	}
	if n := len(e.deliveredDeposits()); n != before {
		t.Errorf("the refused run delivered %d", n-before)
	}
	o = e.opts("incident-42", dlq.Filter{Sources: e.deposits[4:6]})
	o.Selection = "first"
	if sum, _ = e.replay(context.Background(), o); sum.Counts[replay.AlreadyReplayed] != 2 {
		t.Errorf("same selection again: %+v, want 2 already replayed", sum.Counts)
	}
}

// letters reads the dead-letter topic by source record.
func (e *env) letters() map[dlq.SourceKey][]*dlq.Letter {
	e.t.Helper()
	out := map[dlq.SourceKey][]*dlq.Letter{}
	_, err := dlq.Read(context.Background(), []kgo.Opt{kgo.SeedBrokers(e.addrs...)}, "relay.dlq", func(l *dlq.Letter) error {
		if l.Err == nil {
			out[l.Key()] = append(out[l.Key()], l)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestReplayToSource: the original key, value, headers and timestamp go back
// to the original partition, marked as a replay, and the relay then derives
// the first attempt's event id.
func TestReplayToSource(t *testing.T) {
	e := newEnv(t)
	k := e.deposits[1] // partition 1
	orig := e.src[k]
	ends, err := e.adm.ListEndOffsets(context.Background(), "payments")
	if err != nil {
		t.Fatal(err)
	}
	endBefore, _ := ends.Lookup("payments", k.Partition)

	o := e.opts("src", dlq.Filter{Sources: []dlq.SourceKey{k}})
	o.To = replay.ToSource
	o.DryRun = true
	if sum, _ := e.replay(context.Background(), o); sum.Counts[replay.WouldRepublish] != 1 {
		t.Fatalf("dry run: %+v", sum.Counts)
	}
	o.DryRun = false
	if sum, _ := e.replay(context.Background(), o); sum.Counts[replay.Republished] != 1 {
		t.Fatalf("republished %+v", sum.Counts)
	}
	if sum, _ := e.replay(context.Background(), o); sum.Counts[replay.AlreadyReplayed] != 1 {
		t.Errorf("second run: %+v, want already replayed", sum.Counts)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(e.addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"payments": {k.Partition: kgo.NewOffset().At(endBefore.Offset)},
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) == 0 && ctx.Err() == nil {
		got = append(got, cl.PollFetches(ctx).Records()...)
	}
	if len(got) != 1 {
		t.Fatalf("read %d records after the end, want the one republished", len(got))
	}
	r := got[0]
	wantHeaders := append(slices.Clone(orig.Headers), kgo.RecordHeader{Key: mapper.HeaderReplayOf, Value: []byte(k.String())})
	if r.Partition != k.Partition || !bytes.Equal(r.Key, orig.Key) || !bytes.Equal(r.Value, orig.Value) ||
		fmt.Sprint(r.Headers) != fmt.Sprint(wantHeaders) || !r.Timestamp.Equal(orig.Timestamp) {
		t.Errorf("republished %d %q %q %v %v\nwant %d %q %q %v %v", r.Partition, r.Key, r.Value, r.Headers, r.Timestamp,
			k.Partition, orig.Key, orig.Value, wantHeaders, orig.Timestamp)
	}
	m, err := mapper.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Map(r)
	if err != nil || res.Record.EventID != derived(k) {
		t.Errorf("mapped the republished record to event id %q (%v), want %q", res.Record.EventID, err, derived(k))
	}

	groups, err := replay.ConsumerGroups(context.Background(), []kgo.Opt{kgo.SeedBrokers(e.addrs...)}, []string{"payments"})
	if err != nil || !slices.Contains(groups["payments"], "relay") {
		t.Errorf("consumer groups of payments %v (%v), want relay among them", groups, err)
	}
}

package pipeline_test

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// srcKey names one source record.
type srcKey struct {
	topic     string
	partition int32
	offset    int64
}

func (k srcKey) String() string { return fmt.Sprintf("%s[%d]@%d", k.topic, k.partition, k.offset) }

// harness is an embedded Kafka and an emulator per destination of the
// example configuration, with the records produced and what each should become.
type harness struct {
	t       *testing.T
	cfg     *config.Config
	topics  []string
	emus    *demo.Emulators
	client  *kgo.Client
	adm     *kadm.Client
	cluster *kfake.Cluster // for injecting broker faults
	mu      sync.Mutex
	expect  map[srcKey]gen.Expect
	gen     *gen.Generator // one stream of players for the whole test
}

var nonWord = regexp.MustCompile(`\W+`)

func newHarness(t *testing.T, partitions int32, adjust func(string, *emulator.Config)) *harness {
	t.Helper()
	cfg, err := config.Load("../../config.example.yaml")
	if err != nil {
		t.Fatalf("load example config: %v", err)
	}
	return newHarnessWith(t, cfg, partitions, adjust)
}

func newHarnessWith(t *testing.T, cfg *config.Config, partitions int32, adjust func(string, *emulator.Config)) *harness {
	t.Helper()
	cfg.Kafka.Group = "e2e-" + nonWord.ReplaceAllString(t.Name(), "-")
	cfg.Kafka.CommitInterval = 200 * time.Millisecond
	cfg.Sink.Linger = 20 * time.Millisecond
	cfg.Sink.MisconfiguredRetry = 200 * time.Millisecond
	topics := cfg.Kafka.Topics
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(partitions, topics...),
		kfake.SeedTopics(1, cfg.DLQ.Topic),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	emus, err := demo.StartEmulators(cfg, adjust)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emus.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &harness{t: t, cfg: cfg, topics: topics, emus: emus, client: cl, adm: kadm.NewClient(cl), cluster: cluster, expect: make(map[srcKey]gen.Expect)}
}

// produce writes n more generated events and remembers what each should
// become. The first call's seed starts the stream; later calls continue it.
func (h *harness) produce(n int, seed int64) {
	h.t.Helper()
	if h.gen == nil {
		h.gen = gen.New(seed, gen.Options{})
	}
	events := make([]gen.Event, 0, n)
	for i := 0; i < n; i++ {
		events = append(events, h.gen.Next())
	}
	h.produceEvents(events)
}

func (h *harness) produceEvents(events []gen.Event) {
	h.t.Helper()
	const chunk = 2000
	for len(events) > 0 {
		n := min(chunk, len(events))
		recs := make([]*kgo.Record, n)
		index := make(map[*kgo.Record]int, n) // results come in completion order, not input order
		for i, ev := range events[:n] {
			recs[i] = &kgo.Record{Topic: ev.Topic, Key: ev.Key, Value: ev.Value}
			index[recs[i]] = i
		}
		res := h.client.ProduceSync(context.Background(), recs...)
		if err := res.FirstErr(); err != nil {
			h.t.Fatalf("produce: %v", err)
		}
		h.mu.Lock()
		for _, r := range res {
			h.expect[srcKey{r.Record.Topic, r.Record.Partition, r.Record.Offset}] = events[index[r.Record]].Expect
		}
		h.mu.Unlock()
		events = events[n:]
	}
}

// relay is one running relay instance.
type relay struct {
	p      *pipeline.Pipeline
	cancel context.CancelFunc
	done   chan error
}

func (h *harness) start() *relay {
	h.t.Helper()
	return h.startWith(pipeline.Options{})
}

// startWith starts a relay with opts; the emulators' tokens and a logger to
// the test's output stand in for what opts leaves unset.
func (h *harness) startWith(opts pipeline.Options) *relay {
	h.t.Helper()
	if opts.Tokens == nil {
		opts.Tokens = h.emus.Tokens
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(h.t)
	}
	p, err := pipeline.New(h.cfg, opts)
	if err != nil {
		h.t.Fatalf("pipeline.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	h.t.Cleanup(r.abort)
	return r
}

// stop drains the relay gracefully.
func (r *relay) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	r.done <- nil // for abort in Cleanup
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.p.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// abort stops the relay as a crash would: no flush, no commit.
func (r *relay) abort() {
	r.p.Abort()
	r.cancel()
	<-r.done
	r.done <- nil
}

// waitFor polls cond until it holds or the bound passes. The bound only
// keeps a broken run from hanging; it asserts nothing about speed.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s: %s", what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitCommitted waits until the group's committed offsets are the end offsets.
func (h *harness) waitCommitted() {
	h.t.Helper()
	waitFor(h.t, "committed offsets = end offsets", func() (bool, string) {
		gaps, err := pipeline.Uncommitted(context.Background(), h.adm, h.cfg.Kafka.Group, h.topics)
		if err != nil {
			return false, err.Error()
		}
		return len(gaps) == 0, fmt.Sprint(gaps)
	})
}

// deadLetters reads the whole dead-letter topic.
func (h *harness) deadLetters() map[srcKey][]dlq.Entry {
	h.t.Helper()
	ends, err := h.adm.ListEndOffsets(context.Background(), h.cfg.DLQ.Topic)
	if err != nil {
		h.t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	out := make(map[srcKey][]dlq.Entry)
	if total == 0 {
		return out
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.cfg.Kafka.Brokers...), kgo.ConsumeTopics(h.cfg.DLQ.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		h.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for n := int64(0); n < total; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			h.t.Fatalf("read dead-letter topic: %d of %d records: %v", n, total, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			e, err := dlq.Parse(r)
			if err != nil {
				h.t.Errorf("dead letter at offset %d: %v", r.Offset, err)
				return
			}
			k := srcKey{e.Source.Topic, e.Source.Partition, e.Source.Offset}
			out[k] = append(out[k], e)
		})
	}
	return out
}

// verify checks that every record produced reached its intended end: valid
// ones at the emulator, bad ones in the dead-letter topic with their reason.
// exact also forbids duplicates, which only a crash or rebalance may cause.
func (h *harness) verify(exact bool) {
	h.t.Helper()
	accepted := make(map[string]int)
	perKind := make(map[string]int)
	for _, k := range optikpi.Kinds() {
		ids := h.emus.EventIDs(k)
		perKind[k.String()] = len(ids)
		for _, id := range ids {
			accepted[id]++
		}
	}
	dead := h.deadLetters()
	wantPerKind := make(map[string]int)
	var wantDead int
	for k, exp := range h.expect {
		entries := dead[k]
		if exp.Skipped {
			if len(entries) > 0 {
				h.t.Errorf("%v: skipped record dead-lettered: %s", k, entries[0].Reason)
			}
			continue
		}
		if exp.Reason == "" {
			wantPerKind[exp.Model]++
			if exp.EventID != "" && accepted[exp.EventID] == 0 {
				h.t.Errorf("%v: event %s (%s) never reached Optikpi", k, exp.EventID, exp.Model)
			}
			if len(entries) > 0 {
				h.t.Errorf("%v: valid %s record dead-lettered: %s: %s", k, exp.Model, entries[0].Reason, entries[0].Message)
			}
			continue
		}
		wantDead++
		if len(entries) == 0 {
			h.t.Errorf("%v: bad record (want reason %s) is not in the dead-letter topic", k, exp.Reason)
		}
		for _, e := range entries {
			if e.Reason != exp.Reason {
				h.t.Errorf("%v: dead-letter reason = %s (%s); want %s", k, e.Reason, e.Message, exp.Reason)
			}
			if e.Source.Topic != k.topic || e.Source.Offset != k.offset || e.FailedAt.IsZero() {
				h.t.Errorf("%v: dead-letter headers name %s[%d]@%d, failed at %v", k, e.Source.Topic, e.Source.Partition, e.Source.Offset, e.FailedAt)
			}
		}
	}
	for model, want := range wantPerKind {
		got := perKind[model]
		if got < want || (exact && got != want) {
			h.t.Errorf("%s records at Optikpi = %d; want %d", model, got, want)
		}
	}
	if exact {
		var got int
		for _, es := range dead {
			got += len(es)
		}
		if got != wantDead {
			h.t.Errorf("dead-letter topic holds %d records; want %d", got, wantDead)
		}
	}
	h.t.Logf("%d records: %d dead-lettered, at Optikpi by model %v", len(h.expect), wantDead, perKind)
}

// testLogger logs warnings to t's output until t ends, and nothing after:
// a shutdown that runs out of its budget leaves the Kafka client leaving
// its group in the background, and a warning it logs once the test is over
// would fail the test binary ("Log in goroutine after Test has completed").
func testLogger(t *testing.T) *zap.Logger {
	var over atomic.Bool
	t.Cleanup(func() { over.Store(true) })
	return zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel), zaptest.WrapOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return &untilOver{Core: c, over: &over}
	})))
}

// untilOver drops every entry once over is set.
type untilOver struct {
	zapcore.Core
	over *atomic.Bool
}

func (u *untilOver) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if u.over.Load() {
		return ce
	}
	return u.Core.Check(e, ce)
}

func (u *untilOver) With(f []zapcore.Field) zapcore.Core {
	return &untilOver{Core: u.Core.With(f), over: u.over}
}

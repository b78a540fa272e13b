package consume

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

const testTopic = "events"

type env struct {
	t       *testing.T
	cluster *kfake.Cluster
	addrs   []string
	adm     *kadm.Client
	prod    *kgo.Client
}

func newEnv(t *testing.T, partitions int32) *env {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, testTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	prod, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &env{t: t, cluster: c, addrs: addrs, adm: kadm.NewClient(prod), prod: prod}
}

// produce writes n records to each of partitions, values "p/i".
func (e *env) produce(partitions int32, n int) {
	e.t.Helper()
	var recs []*kgo.Record
	for i := range n {
		for p := range partitions {
			recs = append(recs, &kgo.Record{Topic: testTopic, Partition: p, Value: []byte(fmt.Sprintf("%d/%d", p, i))})
		}
	}
	if err := e.prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		e.t.Fatal(err)
	}
}

// committed returns the group's committed offsets per partition of the
// test topic; a partition without a commit is absent.
func (e *env) committed(group string) map[int32]int64 {
	e.t.Helper()
	os, err := e.adm.FetchOffsets(context.Background(), group)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(map[int32]int64)
	os.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.Topic == testTopic && o.At >= 0 {
			out[o.Partition] = o.At
		}
	})
	return out
}

func (e *env) consumer(group string, o Options) *Consumer {
	e.t.Helper()
	o.Brokers = e.addrs
	o.Group = group
	o.Topics = []string{testTopic}
	if o.CommitInterval == 0 {
		o.CommitInterval = 50 * time.Millisecond
	}
	// A member notices a rebalance at its next heartbeat.
	o.ClientOpts = append(o.ClientOpts, kgo.HeartbeatInterval(100*time.Millisecond), kgo.FetchMaxWait(100*time.Millisecond))
	c, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// sink collects handed-out records; hold keeps them for the test to Done.
type sink struct {
	mu   sync.Mutex
	recs []*Record
	seen map[int32][]int64
}

func newSink() *sink { return &sink{seen: make(map[int32][]int64)} }

func (s *sink) handle(_ context.Context, r *Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
	s.seen[r.Partition] = append(s.seen[r.Partition], r.Offset)
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// find returns the held record at partition p, offset o.
func (s *sink) find(p int32, o int64) *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.Partition == p && r.Offset == o {
			return r
		}
	}
	return nil
}

func (s *sink) all() []*Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs)
}

func (s *sink) offsets(p int32) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen[p])
}

// run starts c.Run and returns a function that waits for it and fails the
// test unless it returned nil.
func run(t *testing.T, c *Consumer, handle func(context.Context, *Record)) (wait func()) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background(), handle) }()
	return func() {
		t.Helper()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Run = %v, want nil", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return")
		}
	}
}

func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last state: %s", what, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// holding produces n records to each of parts partitions and runs a
// consumer of group "g" that holds every record it is handed, until it
// holds them all.
func holding(t *testing.T, parts int32, n int, o Options) (*env, *Consumer, *sink, func()) {
	t.Helper()
	e := newEnv(t, parts)
	e.produce(parts, n)
	c := e.consumer("g", o)
	s := newSink()
	wait := run(t, c, s.handle)
	total := int(parts) * n
	waitFor(t, fmt.Sprintf("%d records handed out", total), func() (bool, string) { return s.count() == total, fmt.Sprint(s.count()) })
	return e, c, s, wait
}

func closeOK(t *testing.T, c *Consumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Options{Brokers: []string{"localhost:1"}, Group: "g", Topics: []string{"t"}}
	tests := []struct {
		name   string
		mutate func(*Options)
	}{
		{"no brokers", func(o *Options) { o.Brokers = nil }},
		{"no group", func(o *Options) { o.Group = "" }},
		{"no topics", func(o *Options) { o.Topics = nil }},
		{"empty topic", func(o *Options) { o.Topics = []string{""} }},
		{"bad regex", func(o *Options) { o.Topics, o.TopicRegex = []string{"a("}, true }},
		{"negative in flight", func(o *Options) { o.MaxInFlight = -1 }},
		{"negative interval", func(o *Options) { o.CommitInterval = -time.Second }},
		{"negative revoke timeout", func(o *Options) { o.RevokeTimeout = -time.Second }},
		{"negative session timeout", func(o *Options) { o.SessionTimeout = -time.Second }},
		{"revoke past rebalance", func(o *Options) { o.RevokeTimeout, o.RebalanceTimeout = 20*time.Second, 10*time.Second }},
		{"negative fetch max bytes", func(o *Options) { o.FetchMaxBytes = -1 }},
		{"negative fetch partition bytes", func(o *Options) { o.FetchMaxPartitionBytes = -1 }},
		{"negative fetch max wait", func(o *Options) { o.FetchMaxWait = -time.Second }},
		{"negative concurrent fetches", func(o *Options) { o.MaxConcurrentFetches = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mutate(&o)
			c, err := New(o)
			if c != nil {
				c.Abort()
			}
			if !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("New = %v, want ErrInvalidOptions", err)
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		c, err := New(ok)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Abort()
		got := []any{c.opts.MaxInFlight, c.opts.MaxUncommitted, c.opts.CommitInterval, c.opts.RevokeTimeout}
		want := []any{DefaultMaxInFlight, 10 * DefaultMaxInFlight, DefaultCommitInterval, DefaultRevokeTimeout}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("defaults %v, want %v", got, want)
		}
	})
}

// TestCommitsUpToFirstNotDone finishes records out of order and checks the
// group's committed offset after each step: never past a record not Done.
func TestCommitsUpToFirstNotDone(t *testing.T) {
	e, c, s, wait := holding(t, 1, 10, Options{})

	steps := []struct {
		done []int64
		want int64
	}{
		{[]int64{5, 1, 0, 4}, 2},
		{[]int64{2, 7}, 3},
		{[]int64{3}, 6},
		{[]int64{9, 8, 6}, 10},
	}
	for _, st := range steps {
		for _, o := range st.done {
			s.find(0, o).Done()
		}
		// The broker stores the offset before the member reads the
		// commit's response, so Stats may trail the group by a moment.
		waitFor(t, fmt.Sprintf("commit %d after done %v", st.want, st.done), func() (bool, string) {
			got, stat := e.committed("g"), c.Stats().Committed[testTopic][0]
			return got[0] == st.want && stat == st.want,
				fmt.Sprintf("group committed %v, Stats().Committed %d, want %d", got, stat, st.want)
		})
		// Never past the first record not done, not even for a moment.
		if got := e.committed("g"); got[0] != st.want {
			t.Errorf("group committed %v, want %d", got, st.want)
		}
	}
	closeOK(t, c)
	wait()
}

// TestCloseCommitsEverythingDone finishes records asynchronously with no
// periodic commit: Close alone commits every partition to its end.
func TestCloseCommitsEverythingDone(t *testing.T) {
	e := newEnv(t, 3)
	e.produce(3, 20)
	reg := prometheus.NewRegistry()
	// Close unregisters; keep the collectors to read their final values.
	c := e.consumer("g", Options{noLoopCommit: true, Registerer: keepRegistered{reg}})
	wait := run(t, c, func(_ context.Context, r *Record) {
		go func() {
			time.Sleep(time.Millisecond)
			r.Done()
		}()
	})
	waitFor(t, "60 done", func() (bool, string) { st := c.Stats(); return st.Done == 60, fmt.Sprintf("%+v", st) })
	if got := e.committed("g"); len(got) != 0 {
		t.Fatalf("committed %v before Close, want nothing", got)
	}
	closeOK(t, c)
	wait()
	want := map[int32]int64{0: 20, 1: 20, 2: 20}
	if got := e.committed("g"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("committed %v, want %v", got, want)
	}
	st := c.Stats()
	if st.Consumed != 60 || st.InFlight != 0 {
		t.Errorf("stats %+v, want 60 consumed, 0 in flight", st)
	}
	got := gather(t, reg)
	for name, want := range map[string]float64{
		`optikpi_relay_consumer_commits_total{result="ok"}`:    1,
		`optikpi_relay_consumer_commits_total{result="error"}`: 0,
		"optikpi_relay_consumer_records_consumed_total":        60,
		"optikpi_relay_consumer_records_done_total":            60,
		"optikpi_relay_consumer_records_in_flight":             0,
		"optikpi_relay_consumer_lag":                           0,
	} {
		if v, ok := got[name]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
}

// TestCloseLeavesUndoneUncommitted: records not Done by the end of Close's
// context stay uncommitted.
func TestCloseLeavesUndoneUncommitted(t *testing.T) {
	e, c, s, wait := holding(t, 1, 5, Options{CommitInterval: time.Hour})
	for _, o := range []int64{0, 1, 3} {
		s.find(0, o).Done()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); !errors.Is(err, ErrInFlight) {
		t.Errorf("Close = %v, want ErrInFlight", err)
	}
	wait()
	if got := e.committed("g"); got[0] != 2 {
		t.Errorf("committed %v, want partition 0 at 2", got)
	}
	s.find(0, 2).Done() // after Close: ignored, no panic
	if err := c.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

// TestMaxInFlight holds records and checks that handle is never called with
// more than MaxInFlight records not Done, then releases them all.
func TestMaxInFlight(t *testing.T) {
	const limit = 7
	e := newEnv(t, 2)
	e.produce(2, 25)
	c := e.consumer("g", Options{MaxInFlight: limit})
	var (
		mu      sync.Mutex
		held    []*Record
		maxSeen int64
	)
	wait := run(t, c, func(_ context.Context, r *Record) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, r)
		maxSeen = max(maxSeen, c.Stats().InFlight)
	})
	waitFor(t, "limit reached", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(held) == limit, fmt.Sprint(len(held))
	})
	time.Sleep(200 * time.Millisecond) // room for a wrong extra poll to show
	for done := 0; done < 50; {
		mu.Lock()
		batch := held
		held = nil
		mu.Unlock()
		for _, r := range batch {
			r.Done()
		}
		done += len(batch)
		if len(batch) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	mu.Lock()
	got := maxSeen
	mu.Unlock()
	if got != limit {
		t.Errorf("max in flight seen by handle %d, want %d", got, limit)
	}
	closeOK(t, c)
	wait()
	if got := e.committed("g"); got[0] != 25 || got[1] != 25 {
		t.Errorf("committed %v, want 25 on both partitions", got)
	}
}

// TestMaxUncommitted: one slow record holds back at most MaxUncommitted
// records, however many after it are Done.
func TestMaxUncommitted(t *testing.T) {
	e := newEnv(t, 1)
	e.produce(1, 40)
	c := e.consumer("g", Options{MaxInFlight: 5, MaxUncommitted: 12})
	var (
		mu      sync.Mutex
		first   *Record
		holding bool
		over    int64
	)
	wait := run(t, c, func(_ context.Context, r *Record) {
		mu.Lock()
		defer mu.Unlock()
		if r.Offset == 0 {
			first, holding = r, true
			return
		}
		if n := c.Stats().Consumed; holding && n > 12 {
			over = n
		}
		r.Done()
	})
	waitFor(t, "12 handed out", func() (bool, string) { st := c.Stats(); return st.Consumed == 12, fmt.Sprintf("%+v", st) })
	time.Sleep(200 * time.Millisecond) // room for a wrong extra poll to show
	mu.Lock()
	first.Done()
	holding = false
	mu.Unlock()
	waitFor(t, "40 done", func() (bool, string) { st := c.Stats(); return st.Done == 40, fmt.Sprintf("%+v", st) })
	closeOK(t, c)
	wait()
	mu.Lock()
	defer mu.Unlock()
	if over != 0 {
		t.Errorf("%d records handed out while offset 0 was held, want at most 12", over)
	}
	if got := e.committed("g"); got[0] != 40 {
		t.Errorf("committed %v, want 40", got)
	}
}

// TestHandover: a second member joins mid-stream, the first Closes, the
// second finishes. Every record is handled at least once and the group
// ends committed at the end of every partition.
func TestHandover(t *testing.T) {
	const parts, perPart = 4, 150
	e := newEnv(t, parts)
	e.produce(parts, perPart)
	slowDone := func(s *sink) func(context.Context, *Record) {
		return func(ctx context.Context, r *Record) {
			s.handle(ctx, r)
			go func() {
				time.Sleep(3 * time.Millisecond)
				r.Done()
			}()
		}
	}
	a, b := e.consumer("g", Options{MaxInFlight: 8}), e.consumer("g", Options{MaxInFlight: 8})
	sa, sb := newSink(), newSink()
	waitA := run(t, a, slowDone(sa))
	waitFor(t, "a started", func() (bool, string) { return sa.count() >= 50, fmt.Sprint(sa.count()) })
	waitB := run(t, b, slowDone(sb))
	waitFor(t, "b got partitions", func() (bool, string) { return sb.count() > 0, fmt.Sprint(sb.count()) })
	closeOK(t, a)
	waitA()
	if sa.count() >= parts*perPart {
		t.Fatalf("a handled all %d records before b joined; the test needs more records", sa.count())
	}
	waitFor(t, "every record handled", func() (bool, string) {
		missing := 0
		for p := range int32(parts) {
			seen := make(map[int64]bool)
			for _, o := range append(sa.offsets(p), sb.offsets(p)...) {
				seen[o] = true
			}
			missing += perPart - len(seen)
		}
		return missing == 0, fmt.Sprintf("%d missing", missing)
	})
	waitFor(t, "b done", func() (bool, string) { st := b.Stats(); return st.InFlight == 0, fmt.Sprintf("%+v", st) })
	closeOK(t, b)
	waitB()
	got := e.committed("g")
	for p := range int32(parts) {
		if got[p] != perPart {
			t.Errorf("partition %d committed %d, want %d (all: %v)", p, got[p], perPart, got)
		}
	}
	t.Logf("a handled %d, b handled %d", sa.count(), sb.count())
}

// TestAbortCommitsNothing: records Done but not yet committed when a member
// aborts are handed out again to the next member of the group.
func TestAbortCommitsNothing(t *testing.T) {
	e := newEnv(t, 1)
	e.produce(1, 10)
	c := e.consumer("g", Options{noLoopCommit: true})
	s := newSink()
	wait := run(t, c, func(ctx context.Context, r *Record) { s.handle(ctx, r); r.Done() })
	waitFor(t, "10 done", func() (bool, string) { st := c.Stats(); return st.Done == 10, fmt.Sprintf("%+v", st) })
	c.Abort()
	wait()
	c.Abort() // idempotent
	if err := c.Close(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Close after Abort = %v, want ErrClosed", err)
	}
	if got := e.committed("g"); len(got) != 0 {
		t.Fatalf("committed %v after Abort, want nothing", got)
	}

	c2 := e.consumer("g", Options{})
	s2 := newSink()
	wait2 := run(t, c2, func(ctx context.Context, r *Record) { s2.handle(ctx, r); r.Done() })
	waitFor(t, "redelivery", func() (bool, string) { return s2.count() == 10, fmt.Sprint(s2.offsets(0)) })
	closeOK(t, c2)
	wait2()
	if got, want := s2.offsets(0), []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}; !slices.Equal(got, want) {
		t.Errorf("second member got offsets %v, want %v", got, want)
	}
	if got := e.committed("g"); got[0] != 10 {
		t.Errorf("committed %v, want 10", got)
	}
}

// TestRevokeWaitsForInFlight: when a partition moves to a new member, the
// revoke waits for its records in flight and commits them, so the new
// owner starts after them.
func TestRevokeWaitsForInFlight(t *testing.T) {
	const perPart = 20
	revoking := make(chan []*partition, 1)
	e, a, sa, waitA := holding(t, 2, perPart, Options{RevokeTimeout: time.Minute, RebalanceTimeout: 2 * time.Minute, onRevokeWait: func(parts []*partition) { revoking <- parts }})

	b := e.consumer("g", Options{})
	sb := newSink()
	waitB := run(t, b, func(ctx context.Context, r *Record) { sb.handle(ctx, r); r.Done() })
	var moved int32
	select {
	case parts := <-revoking:
		if len(parts) != 1 {
			t.Fatalf("revoking %d partitions, want 1", len(parts))
		}
		moved = parts[0].partition
	case <-time.After(20 * time.Second):
		t.Fatal("no revoke")
	}
	if got := e.committed("g"); got[moved] != 0 {
		t.Errorf("partition %d committed %d while its records are in flight", moved, got[moved])
	}
	for _, r := range sa.all() {
		r.Done()
	}
	e.produce(2, 5)
	waitFor(t, "b reads the moved partition's new records", func() (bool, string) {
		return len(sb.offsets(moved)) == 5, fmt.Sprint(sb.offsets(moved))
	})
	if got, want := sb.offsets(moved), []int64{20, 21, 22, 23, 24}; !slices.Equal(got, want) {
		t.Errorf("b got offsets %v on partition %d, want %v", got, moved, want)
	}
	waitFor(t, "a reads its partition's new records", func() (bool, string) { return sa.count() == 2*perPart+5, fmt.Sprint(sa.count()) })
	for _, r := range sa.all() {
		r.Done()
	}
	closeOK(t, a)
	closeOK(t, b)
	waitA()
	waitB()
	want := map[int32]int64{0: perPart + 5, 1: perPart + 5}
	if got := e.committed("g"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("committed %v, want %v", got, want)
	}
}

// TestRevokeTimeout: records not Done within RevokeTimeout are left to the
// next owner, which handles them again.
func TestRevokeTimeout(t *testing.T) {
	e := newEnv(t, 2)
	e.produce(2, 4)
	a := e.consumer("g", Options{RevokeTimeout: 100 * time.Millisecond})
	sa := newSink()
	waitA := run(t, a, func(ctx context.Context, r *Record) {
		sa.handle(ctx, r)
		if r.Offset < 2 {
			r.Done()
		}
	})
	waitFor(t, "a holds every record", func() (bool, string) { return sa.count() == 8, fmt.Sprint(sa.count()) })
	b := e.consumer("g", Options{})
	sb := newSink()
	waitB := run(t, b, func(ctx context.Context, r *Record) { sb.handle(ctx, r); r.Done() })
	var moved int32 = -1
	waitFor(t, "b handles the moved partition from offset 2", func() (bool, string) {
		for p := range int32(2) {
			if got := sb.offsets(p); len(got) == 2 {
				moved = p
				return true, ""
			}
		}
		return false, fmt.Sprint(sb.offsets(0), sb.offsets(1))
	})
	if got, want := sb.offsets(moved), []int64{2, 3}; !slices.Equal(got, want) {
		t.Errorf("b got %v, want %v", got, want)
	}
	for _, r := range sa.all() {
		// a no longer owns the moved partition: its records say so, for
		// the sink to drop them (defect 7).
		if got, want := r.Owned(), r.Partition != moved; got != want {
			t.Errorf("a's record %d@%d: Owned() = %v, want %v", r.Partition, r.Offset, got, want)
		}
		r.Done() // the moved partition's are ignored
	}
	closeOK(t, a)
	closeOK(t, b)
	waitA()
	waitB()
	if got := e.committed("g"); got[0] != 4 || got[1] != 4 {
		t.Errorf("committed %v, want 4 on both", got)
	}
	if st := a.Stats(); st.InFlight != 0 {
		t.Errorf("a in flight %d after close, want 0", st.InFlight)
	}
}

func TestRecordDoneZero(t *testing.T) {
	var r *Record
	r.Done()
	(&Record{}).Done()
	if !r.Owned() || !(&Record{}).Owned() {
		t.Error("a Record not handed out by a Consumer is not Owned; want owned")
	}
}

func TestRunTwice(t *testing.T) {
	e := newEnv(t, 1)
	c := e.consumer("g", Options{})
	wait := run(t, c, func(context.Context, *Record) {})
	waitFor(t, "Run started", func() (bool, string) { return c.started.Load(), "" })
	if err := c.Run(context.Background(), nil); !errors.Is(err, ErrRunning) {
		t.Errorf("second Run = %v, want ErrRunning", err)
	}
	closeOK(t, c)
	wait()
}

// gather returns every sample of reg by name{label="value",...}.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out, err := telemetry.Samples(reg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLostForgetsWithoutCommit: a lost partition is parked, its records
// still in flight; once the next assignment gives it to another member,
// they stop counting, their Done is ignored and nothing is committed for
// them.
func TestLostForgetsWithoutCommit(t *testing.T) {
	e, c, s, wait := holding(t, 2, 3, Options{CommitInterval: time.Hour})
	c.onLost(context.Background(), c.cl, map[string][]int32{testTopic: {0}})
	if st := c.Stats(); st.InFlight != 6 {
		t.Errorf("in flight %d after losing partition 0, want 6 (parked)", st.InFlight)
	}
	c.resume(context.Background(), c.cl, map[string][]int32{testTopic: {1}})
	if st := c.Stats(); st.InFlight != 3 {
		t.Errorf("in flight %d after partition 0 went elsewhere, want 3", st.InFlight)
	}
	for _, r := range s.all() {
		r.Done()
	}
	if st := c.Stats(); st.Done != 3 || st.InFlight != 0 {
		t.Errorf("stats %+v, want 3 done, 0 in flight", st)
	}
	closeOK(t, c)
	wait()
	if got := e.committed("g"); fmt.Sprint(got) != fmt.Sprint(map[int32]int64{1: 3}) {
		t.Errorf("committed %v, want only partition 1 at 3", got)
	}
}

// TestAbandon: an abandoned record does not hold up Close, and nothing is
// committed at or past it.
func TestAbandon(t *testing.T) {
	e, c, s, wait := holding(t, 1, 4, Options{CommitInterval: time.Hour})
	s.find(0, 0).Done()
	s.find(0, 1).Abandon()
	s.find(0, 1).Done() // ignored
	s.find(0, 2).Done()
	s.find(0, 3).Done()
	if st := c.Stats(); st.InFlight != 0 || st.Done != 3 {
		t.Errorf("stats %+v, want 0 in flight, 3 done", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	wait()
	if got := e.committed("g"); got[0] != 1 {
		t.Errorf("committed %v, want partition 0 at 1", got)
	}
}

// keepRegistered ignores Unregister, so a test can read what a closed
// consumer's collectors last said.
type keepRegistered struct{ prometheus.Registerer }

func (keepRegistered) Unregister(prometheus.Collector) bool { return false }

// TestCloseUnregisters: a closed consumer leaves the registry as it found it,
// so a new one may register there again.
func TestCloseUnregisters(t *testing.T) {
	e := newEnv(t, 1)
	reg := prometheus.NewRegistry()
	for i := range 2 {
		c := e.consumer("g", Options{Registerer: reg})
		closeOK(t, c)
		if got := gather(t, reg); len(got) != 0 {
			t.Errorf("round %d: after Close, still registered: %v", i, got)
		}
	}
}

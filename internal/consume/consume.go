// Package consume reads Kafka topics as a consumer group and commits each partition's offset only up to the first record not yet Done.
package consume

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// Errors returned by the consumer; test with errors.Is.
var (
	// ErrInvalidOptions wraps every problem New finds in its Options.
	ErrInvalidOptions = errors.New("consume: invalid options")
	// ErrClosed is returned by Run and Close once Close or Abort was called.
	ErrClosed = errors.New("consume: consumer closed")
	// ErrRunning is returned by a second call of Run.
	ErrRunning = errors.New("consume: Run already called")
	// ErrInFlight is returned by Close when records were still not Done
	// as its context ended; their offsets stay uncommitted.
	ErrInFlight = errors.New("consume: records still in flight")
)

// Defaults of Options.
const (
	DefaultMaxInFlight    = 10000
	DefaultCommitInterval = time.Second
	DefaultRevokeTimeout  = 10 * time.Second
	// The group timeouts, kgo's and Kafka's defaults.
	DefaultSessionTimeout    = 45 * time.Second
	DefaultRebalanceTimeout  = 60 * time.Second
	DefaultHeartbeatInterval = 3 * time.Second
	DefaultCommitTimeout     = 10 * time.Second
	DefaultLagInterval       = 15 * time.Second
	// DefaultFetchMaxBytes caps one fetch response (a quarter of
	// MaxInFlightBytes below 16 MiB; see fetchBytes), and so what kgo
	// buffers per broker while Run waits for room: a broker gets its next
	// fetch only once the last one was polled (kgo's own default is 50
	// MiB). kgo.MaxBufferedRecords and MaxBufferedBytes bound producing
	// only. Each response is a fresh allocation, written once and then
	// decompressed, so a large one costs memory (and, we think, cache
	// misses). relay bench --mix (48 partitions of 256 KiB on one broker,
	// so a response brings up to 12 MiB under a 16 MiB cap; 2 CPUs, runs
	// interleaved; relay CPU-µs/record, records/s, peak RSS): 16 MiB 5.87,
	// 5.32, 5.63, 4.93, 194-225k/s, 210-225 MiB; 8 MiB 5.72, 5.52,
	// 202-208k/s, 173-187 MiB; 4 MiB 4.96, 5.03, 4.93, 4.67, 222-235k/s,
	// 127-136 MiB; 2 MiB 4.76, 4.97, 232k/s, 100-111 MiB. The memory
	// drop is clear, the CPU's within the runs' spread. 4 MiB still
	// brings 16 partitions' 256 KiB a fetch; deposits on 6 partitions
	// (1.5 MiB responses) are unaffected.
	DefaultFetchMaxBytes = 4 << 20
	// DefaultFetchMaxPartitionBytes caps what one fetch brings from one
	// partition; kgo's and Kafka's default is 1 MiB. A record in flight
	// keeps its whole fetch in memory, so this sets the relay's memory:
	// relay bench (1,000,000 deposits, 6 partitions, 2 CPUs) drained as
	// fast at 256 KiB as at 1 MiB with about half the peak RSS (74 MiB
	// against 137; 4 MiB: 306), while 128 KiB gained no memory and
	// fetched more often (config.example.yaml has the numbers; measured
	// when fetch responses defaulted to 16 MiB, so 1 MiB and 4 MiB
	// partitions were not cut short by DefaultFetchMaxBytes).
	DefaultFetchMaxPartitionBytes = 256 << 10
	// DefaultFetchMaxWait is how long a broker holds a fetch for
	// partitions without new records: Kafka's own default, not kgo's 5s,
	// since a partition whose fetching resumes (see worker.go) is fetched
	// only with the next request.
	DefaultFetchMaxWait = 500 * time.Millisecond
)

// Options configure a Consumer. Zero values take the documented defaults.
type Options struct {
	// Brokers are the seed brokers; required.
	Brokers []string
	// Group is the consumer group; required.
	Group string
	// Topics are consumed; at least one is required.
	Topics []string
	// TopicRegex makes Topics regular expressions (kgo.ConsumeRegex).
	TopicRegex bool
	// ClientOpts are added to the Kafka client's options: TLS, SASL, a
	// kzap logger, kprom hooks. They come after the consumer's own
	// defaults and before what the offset tracking depends on (manual
	// commits, BlockRebalanceOnPoll, the partition callbacks), which
	// cannot be overridden.
	ClientOpts []kgo.Opt
	// MaxInFlight bounds the records handed to handle and not yet Done;
	// default 10000. Run stops polling at the limit, so memory stays flat
	// whatever the backlog. Once half of it is in flight, each partition
	// gets at most its equal part, so that one whose handler blocks holds
	// back only itself (see worker.go).
	MaxInFlight int
	// MaxInFlightBytes bounds the bytes (key, value and headers) of the
	// records handed to handle and not yet Done; default 64 MiB. Run
	// pauses at the limit, so the records in flight exceed it by at most
	// one record, and sizes each fetch to a quarter of it (at most
	// DefaultFetchMaxBytes), which is what may be fetched beyond, per
	// broker: kgo buffers one fetch from each. A record
	// larger than the limit is handed out alone.
	MaxInFlightBytes int64
	// FetchMaxBytes caps one fetch response from a broker
	// (kgo.FetchMaxBytes); default a quarter of MaxInFlightBytes, at most
	// DefaultFetchMaxBytes.
	FetchMaxBytes int32
	// FetchMaxPartitionBytes caps what one fetch brings from one
	// partition (kgo.FetchMaxPartitionBytes); default
	// DefaultFetchMaxPartitionBytes, at most FetchMaxBytes.
	FetchMaxPartitionBytes int32
	// FetchMaxWait is how long a broker may hold a fetch while it has
	// nothing to return (kgo.FetchMaxWait); default DefaultFetchMaxWait. A
	// broker answers as soon as it has a record, so this bounds idle polls
	// and how soon a resumed partition is fetched again.
	FetchMaxWait time.Duration
	// MaxConcurrentFetches bounds the fetches in flight across all
	// brokers (kgo.MaxConcurrentFetches); default 0, one per broker.
	MaxConcurrentFetches int
	// MaxUncommitted bounds the records handed out and not yet
	// committable: Done records behind one that is not. It bounds the
	// tracking memory and what a crash redelivers while one record is
	// slow; default 10 × MaxInFlight, and never below MaxInFlight.
	MaxUncommitted int
	// CommitInterval is the least time between two commits; default 1s.
	// A commit starts as soon as a partition's committable offset
	// advances, unless the last one started less than CommitInterval
	// ago: then it waits for the rest of the interval, taking every
	// advance made meanwhile. A failed commit is retried an interval
	// later.
	CommitInterval time.Duration
	// RevokeTimeout is how long a revoke waits for the in-flight records
	// of the revoked partitions before committing what is done; default
	// 10s, or half of RebalanceTimeout if that is less. It must be below
	// RebalanceTimeout.
	RevokeTimeout time.Duration
	// SessionTimeout is how long the group waits for a silent member
	// before giving its partitions to others; default 45s
	// (kgo.SessionTimeout).
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the group waits for every member to
	// rejoin in a rebalance; default 60s (kgo.RebalanceTimeout).
	RebalanceTimeout time.Duration
	// HeartbeatInterval is how often the member heartbeats; default 3s
	// (kgo.HeartbeatInterval).
	HeartbeatInterval time.Duration
	// Balancers are the group balancers offered, preferred first; default
	// kgo.CooperativeStickyBalancer.
	Balancers []kgo.GroupBalancer
	// InstanceID, if set, makes the member static (KIP-345,
	// kgo.InstanceID): restarted with the same id within SessionTimeout,
	// it gets its partitions back without a rebalance. It must be unique
	// in the group. A static member does not leave the group on Close.
	InstanceID string
	// CommitTimeout bounds each commit request, and each group lag
	// poll; default 10s.
	CommitTimeout time.Duration
	// LagInterval is how often the group's lag is read from the brokers
	// (committed and end offsets), fetching or not; default 15s. It is
	// also read at once after every assignment.
	LagInterval time.Duration
	// Logger receives structured logs; nil discards them.
	Logger *zap.Logger
	// Registerer receives the consumer's metrics; nil registers none.
	Registerer prometheus.Registerer
	// OnMembers, if set, is called with the number of the group's members
	// holding partitions whenever that number changes. It is counted with
	// DescribeGroups after every assignment, before the newly assigned
	// partitions are fetched, and every MembersInterval. Calls come one at
	// a time.
	OnMembers func(members int)
	// MembersInterval is how often members are counted between
	// rebalances; default DefaultMembersInterval (15s).
	MembersInterval time.Duration

	onRevokeWait func([]*partition) // tests: a revoke starts waiting
	noLoopCommit bool               // tests: only a revoke and Close commit
	parkFor      time.Duration      // how long a lost partition stays parked; set by validate, tests may set it
}

func (o *Options) validate() error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	if o.Group == "" {
		errs = append(errs, errors.New("no group"))
	}
	if len(o.Topics) == 0 {
		errs = append(errs, errors.New("no topics"))
	}
	for _, t := range o.Topics {
		if t == "" {
			errs = append(errs, errors.New("empty topic"))
		} else if o.TopicRegex {
			if _, err := regexp.Compile(t); err != nil {
				errs = append(errs, fmt.Errorf("topic regex %q: %w", t, err))
			}
		}
	}
	if o.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("max in flight %d < 0", o.MaxInFlight))
	}
	if o.MaxInFlightBytes < 0 {
		errs = append(errs, fmt.Errorf("max in flight bytes %d < 0", o.MaxInFlightBytes))
	}
	if o.FetchMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("fetch max bytes %d < 0", o.FetchMaxBytes))
	}
	if o.FetchMaxPartitionBytes < 0 {
		errs = append(errs, fmt.Errorf("fetch max partition bytes %d < 0", o.FetchMaxPartitionBytes))
	}
	if o.MaxConcurrentFetches < 0 {
		errs = append(errs, fmt.Errorf("max concurrent fetches %d < 0", o.MaxConcurrentFetches))
	}
	if o.MaxUncommitted < 0 {
		errs = append(errs, fmt.Errorf("max uncommitted %d < 0", o.MaxUncommitted))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"commit interval", o.CommitInterval}, {"fetch max wait", o.FetchMaxWait}, {"revoke timeout", o.RevokeTimeout}, {"session timeout", o.SessionTimeout}, {"rebalance timeout", o.RebalanceTimeout}, {"heartbeat interval", o.HeartbeatInterval}, {"commit timeout", o.CommitTimeout}, {"members interval", o.MembersInterval}, {"lag interval", o.LagInterval}} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("%s %v < 0", d.name, d.d))
		}
	}
	if rt := cmp.Or(o.RebalanceTimeout, DefaultRebalanceTimeout); o.RevokeTimeout >= rt {
		errs = append(errs, fmt.Errorf("revoke timeout %v must be below the rebalance timeout %v", o.RevokeTimeout, rt))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
	}
	o.SessionTimeout = cmp.Or(o.SessionTimeout, DefaultSessionTimeout)
	o.RebalanceTimeout = cmp.Or(o.RebalanceTimeout, DefaultRebalanceTimeout)
	o.HeartbeatInterval = cmp.Or(o.HeartbeatInterval, DefaultHeartbeatInterval)
	// A member is dropped once its session expires, or once a rebalance
	// it does not rejoin ends, which can be sooner.
	o.parkFor = cmp.Or(o.parkFor, min(o.SessionTimeout, o.RebalanceTimeout))
	if len(o.Balancers) == 0 {
		o.Balancers = []kgo.GroupBalancer{kgo.CooperativeStickyBalancer()}
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxInFlightBytes == 0 {
		o.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
	o.FetchMaxBytes = cmp.Or(o.FetchMaxBytes, fetchBytes(o.MaxInFlightBytes))
	o.FetchMaxPartitionBytes = cmp.Or(o.FetchMaxPartitionBytes, DefaultFetchMaxPartitionBytes)
	o.FetchMaxWait = cmp.Or(o.FetchMaxWait, DefaultFetchMaxWait)
	if o.MaxUncommitted == 0 {
		o.MaxUncommitted = 10 * o.MaxInFlight
	}
	o.MaxUncommitted = max(o.MaxUncommitted, o.MaxInFlight)
	if o.CommitInterval == 0 {
		o.CommitInterval = DefaultCommitInterval
	}
	if o.RevokeTimeout == 0 {
		o.RevokeTimeout = min(DefaultRevokeTimeout, o.RebalanceTimeout/2)
	}
	if o.CommitTimeout == 0 {
		o.CommitTimeout = DefaultCommitTimeout
	}
	if o.MembersInterval == 0 {
		o.MembersInterval = DefaultMembersInterval
	}
	if o.LagInterval == 0 {
		o.LagInterval = DefaultLagInterval
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return nil
}

// Consumer is a consumer group member that hands records to one handler
// and commits, per partition, only offsets whose records are all Done.
type Consumer struct {
	opts Options
	log  *zap.Logger
	cl   *kgo.Client
	m    *metrics

	mu        sync.Mutex
	parts     map[tp]*partition
	lost      map[tp]*partition          // parked by onLost until the next assignment
	parkTimer []*time.Timer              // each forgets what one onLost parked, after parkFor
	committed map[string]map[int32]int64 // last offsets this member committed
	cancelRun context.CancelFunc

	group  group
	runErr atomic.Pointer[error] // why Run stopped on its own; see Live

	// commitMu orders this member's commits, so that a commit built
	// from older state never lands after a newer one.
	commitMu sync.Mutex

	consumed      atomic.Int64
	doneN         atomic.Int64
	inFlight      atomic.Int64 // handed out, not Done
	inFlightBytes atomic.Int64 // their recordBytes
	held          atomic.Int64 // handed out, not committable
	assigned      atomic.Int64 // len(parts), for shares
	waitingN      atomic.Int64 // polled, waiting untracked for room
	waitingB      atomic.Int64 // their recordBytes
	room          chan struct{}
	idle          chan struct{}
	advanced      chan struct{} // a committable offset advanced: commit soon

	started  atomic.Bool
	runDone  chan struct{}
	stop     chan struct{} // closed by Close or Abort: fetch no more
	stopOnce sync.Once
	closed   atomic.Bool
	aborted  atomic.Bool
	abort    chan struct{} // closed by Abort: a revoke stops waiting
	quit     chan struct{} // stops the commit and lag loops
	// stopCommits ends the commit loop's commit under way, with quit: the
	// final commit, in Close, takes what it had.
	commitCtx   context.Context
	stopCommits context.CancelFunc
	loopDone    chan struct{}

	lagStats *groupLag
	lagNow   chan struct{} // an assignment: poll the lag now
	lagDone  chan struct{}
}

type tp struct {
	topic     string
	partition int32
}

// key is p's key in Consumer.parts and Consumer.lost.
func (p *partition) key() tp { return tp{p.topic, p.partition} }

// New validates opts and creates the Kafka client: a consumer group member
// with opts' group settings and manual commits, starting at the
// earliest offset of a partition the group has no commit for. Nothing is
// fetched until Run.
func New(opts Options) (*Consumer, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	c := &Consumer{
		opts:      opts,
		log:       opts.Logger,
		parts:     make(map[tp]*partition),
		lost:      make(map[tp]*partition),
		committed: make(map[string]map[int32]int64),
		room:      make(chan struct{}, 1),
		idle:      make(chan struct{}, 1),
		advanced:  make(chan struct{}, 1),
		runDone:   make(chan struct{}),
		stop:      make(chan struct{}),
		quit:      make(chan struct{}),
		abort:     make(chan struct{}),
		loopDone:  make(chan struct{}),
		lagNow:    make(chan struct{}, 1),
		lagDone:   make(chan struct{}),
	}
	c.commitCtx, c.stopCommits = context.WithCancel(context.Background())
	c.lagStats = newGroupLag(c)
	c.m = newMetrics(c)
	if err := c.m.register(opts.Registerer); err != nil {
		return nil, fmt.Errorf("consume: metrics: %w", err)
	}

	kopts := []kgo.Opt{
		kgo.SeedBrokers(opts.Brokers...),
		kgo.ConsumerGroup(opts.Group),
		kgo.ConsumeTopics(opts.Topics...),
		kgo.Balancers(opts.Balancers...),
		kgo.SessionTimeout(opts.SessionTimeout),
		kgo.RebalanceTimeout(opts.RebalanceTimeout),
		kgo.HeartbeatInterval(opts.HeartbeatInterval),
		kgo.ConsumeStartOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}
	kopts = append(kopts, fetchOpts(&opts)...)
	if opts.TopicRegex {
		kopts = append(kopts, kgo.ConsumeRegex())
	}
	if opts.InstanceID != "" {
		kopts = append(kopts, kgo.InstanceID(opts.InstanceID))
	}
	kopts = append(kopts, opts.ClientOpts...)
	kopts = append(kopts,
		kgo.DisableAutoCommit(),
		// Between a poll and AllowRebalance no partition can be revoked
		// or assigned, so Run can tie each polled record to the
		// partition's current assignment before a revoke can forget it
		// (see Run). Run allows rebalances right after that, before
		// handing records out, so a slow handler never holds up the
		// group.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
		kgo.WithHooks(groupHook{c}),
	)
	c.initGroup()
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		c.group.cancel()
		c.m.unregister(opts.Registerer)
		return nil, fmt.Errorf("consume: kafka client: %w", err)
	}
	c.cl = cl
	go c.commitLoop()
	c.startGroup()
	go c.lagLoop()
	return c, nil
}

// Run polls until ctx is done or Close (or Abort) is called, and calls
// handle for every record: from one goroutine per partition, in the
// partition's order, so that handle runs for several partitions at once
// and one whose handle blocks holds back only its own partition (see
// worker.go). handle must arrange for r.Done to be called once the record
// is delivered or dead-lettered; it may return before that. The context
// given to handle ends when Run's does, or at Close; records not yet given
// to handle then are abandoned. Run returns once no handle runs or will.
//
// Run returns nil on a clean stop, ErrRunning if called twice, and an
// error if the Kafka client was closed under it for another reason.
func (c *Consumer) Run(ctx context.Context, handle func(context.Context, *Record)) (err error) {
	if !c.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer close(c.runDone)
	defer func() {
		if err != nil {
			c.runErr.Store(&err)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := &hands{ctx: ctx, handle: handle}
	defer func() {
		cancel() // the workers stop
		h.wg.Wait()
	}()
	c.mu.Lock()
	c.cancelRun = cancel
	c.mu.Unlock()
	select {
	case <-c.stop:
		return nil
	default:
	}

	var batch []*Record
	for {
		if ctx.Err() != nil {
			return nil
		}
		room := c.pollRoom()
		if room <= 0 {
			c.waitRoom(ctx)
			continue
		}
		fs := c.cl.PollRecords(ctx, int(min(room, c.pollSize())))
		// The poll blocks rebalances until AllowRebalance: accept ties
		// each record to its partition's current assignment, so that a
		// later revoke finds the records it must wait for or drop.
		batch, err = c.accept(fs, batch[:0])
		c.cl.AllowRebalance()
		if err != nil {
			if c.isStopping() || ctx.Err() != nil {
				return nil
			}
			return err
		}
		c.handOut(ctx, h, batch)
	}
}

// pollRoom is how many records Run may poll now: none while the records
// in flight, with those waiting untracked (see worker.go), hold either
// bound, or MaxUncommitted are held from a commit.
func (c *Consumer) pollRoom() int64 {
	if c.overBytes() {
		return 0
	}
	return min(int64(c.opts.MaxInFlight)-c.inFlight.Load()-c.waitingN.Load(), int64(c.opts.MaxUncommitted)-c.held.Load())
}

// handOut pushes a poll's records in order, each once MaxInFlightBytes has
// room for it, and clears batch; it stops when ctx ends, leaving the rest
// never handed out, so never committed.
func (c *Consumer) handOut(ctx context.Context, h *hands, batch []*Record) {
	// One clock reading serves a poll's records, which are pushed
	// within a moment of each other, unless Run waits for room.
	now := time.Now().UnixNano()
	for i := range batch {
		waited, ok := c.waitBytes(ctx)
		if !ok {
			break
		}
		if waited {
			now = time.Now().UnixNano()
		}
		c.push(h, batch[i], now)
		batch[i] = nil
	}
	clear(batch)
}

// slabRecords is how many Records accept allocates together. A Record kept
// (a destination holding it while the rest flows) keeps its slab's others
// and, through their kgo records, the Kafka batches they are in: a poll's
// part of a partition (up to a pollSize of records, a fetch's part
// decompressed) would have a few records held per poll keep every record
// of every poll, up to MaxUncommitted of them, where kgo itself keeps only
// the held record's batch. At 64 one allocation serves enough records that
// it costs under a nanosecond each.
const slabRecords = 64

// accept appends fs's records to batch, each a Record of its partition's
// current session, not yet tracked. It returns an error only if the client
// is closed.
func (c *Consumer) accept(fs kgo.Fetches, batch []*Record) ([]*Record, error) {
	var closedErr error
	fs.EachError(func(topic string, partition int32, err error) {
		switch {
		case errors.Is(err, kgo.ErrClientClosed):
			closedErr = fmt.Errorf("consume: %w", err)
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		default:
			c.log.Warn("fetch error", zap.String("topic", topic), zap.Int32("partition", partition), zap.Error(err))
		}
	})
	if closedErr != nil {
		return batch, closedErr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return
		}
		p := c.partitionLocked(fp.Topic, fp.Partition)
		p.mu.Lock()
		p.hwm = fp.HighWatermark
		if p.start < 0 {
			p.start = fp.Records[0].Offset
		}
		gen := p.gen.Load()
		p.mu.Unlock()
		// One allocation per slabRecords records, not one each.
		var rs []Record
		for i, r := range fp.Records {
			if i%slabRecords == 0 {
				rs = make([]Record, min(slabRecords, len(fp.Records)-i))
			}
			rr := &rs[i%slabRecords]
			*rr = Record{Record: r, c: c, p: p, gen: gen, size: recordBytes(r)}
			batch = append(batch, rr)
		}
	})
	return batch, nil
}

// partitionLocked returns the tracked partition, creating it; c.mu is held.
// Polled records can only be for an assigned partition, and nothing is
// revoked between a poll and AllowRebalance, so creating it here is safe.
func (c *Consumer) partitionLocked(topic string, partition int32) *partition {
	k := tp{topic, partition}
	p := c.parts[k]
	if p == nil {
		p = newPartition(topic, partition)
		c.parts[k] = p
		c.assigned.Store(int64(len(c.parts)))
	}
	return p
}

// push queues r for its partition's worker at now (Unix nanoseconds):
// tracked at once while the partition has room (see roomLocked), else kept
// untracked behind what waits already, for the worker to take once it has.
// A record of a partition revoked since the poll is dropped (the next owner
// reads it again).
func (c *Consumer) push(h *hands, r *Record, now int64) {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone || r.gen != p.gen.Load() {
		return
	}
	p.watchLocked(now)
	if p.waiting.len() > 0 || !c.roomLocked(p) {
		c.waitLocked(p, r, now)
		c.startLocked(h, p)
		return
	}
	if c.trackLocked(r, now) {
		p.queue = append(p.queue, r)
		c.startLocked(h, p)
	}
}

// trackLocked starts tracking r, handed out at now (Unix nanoseconds), and
// reports whether it did: not if its offset was already handed out; r.p.mu
// is held and r is of the partition's current session.
func (c *Consumer) trackLocked(r *Record, now int64) bool {
	p := r.p
	if p.t.pending == 0 {
		p.progress = now // blocked from here on, if nothing finishes
	}
	seq, ok := p.t.push(r.Offset, r.LeaderEpoch, now)
	if !ok {
		if !p.resumed { // else held since before the session loss
			c.log.Warn("record redelivered, skipped", zap.String("topic", p.topic), zap.Int32("partition", p.partition), zap.Int64("offset", r.Offset))
		}
		return false
	}
	r.seq = seq
	p.bytes += r.size
	p.resumed = false
	// Counted before the worker can see it, so that its Done never takes
	// the counts below zero; and at once, since other partitions' workers
	// read them (roomLocked).
	c.consumed.Add(1)
	c.inFlight.Add(1)
	c.inFlightBytes.Add(r.size)
	c.held.Add(1)
	return true
}

func (c *Consumer) isStopping() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// stopFetching makes Run return and stops the commit loop's next tick.
func (c *Consumer) stopFetching() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.mu.Lock()
		if c.cancelRun != nil {
			c.cancelRun()
		}
		c.mu.Unlock()
	})
}

// Close shuts down in two phases. It stops fetching and waits, until ctx is
// done, for Run to return and for every record handed out to be Done; then
// it commits what is committable and leaves the group, both within
// CommitTimeout and what is left until ctx's deadline but at least a second
// even if ctx has ended, and closes the client; a leave still unanswered at
// that bound is left to finish, and the client to close, in the background,
// and Close returns an error. Records not Done by
// then stay uncommitted and go to the partition's next owner: Close then
// returns an error wrapping ErrInFlight. A second Close, or Close after
// Abort, returns ErrClosed.
func (c *Consumer) Close(ctx context.Context) error {
	if !c.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	c.stopFetching()
	var errs []error
	if c.started.Load() {
		select {
		case <-c.runDone:
		case <-ctx.Done():
			errs = append(errs, fmt.Errorf("consume: waiting for Run to return: %w", ctx.Err()))
		}
	}
	if err := c.waitIdle(ctx); err != nil {
		errs = append(errs, err)
	}
	close(c.quit)
	c.stopCommits()
	<-c.loopDone
	c.stopGroup()
	<-c.lagDone

	cctx, cancel := finalCommitContext(ctx, c.opts.CommitTimeout)
	defer cancel()
	parts := c.take(nil, true)
	if err := c.commit(cctx, parts, true); err != nil {
		errs = append(errs, err)
	}
	c.forget(parts)
	c.unpark()
	// Leaving calls onRevoked for every partition; none is tracked now,
	// so it commits nothing more. It is bounded like the commit: a broker
	// that does not answer must not hold the shutdown past its budget, since
	// the kubelet kills the pod then anyway. kgo's Close waits for the
	// leave whatever its context, so past the bound the close goes on in
	// the background; the partitions then move after the session timeout.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		c.cl.AllowRebalance()
		if err := c.cl.LeaveGroupContext(cctx); err != nil {
			c.log.Warn("leaving the group did not finish; the partitions move after the session timeout", zap.Error(err))
		}
		c.cl.Close()
	}()
	select {
	case <-closed:
	case <-cctx.Done():
		errs = append(errs, fmt.Errorf("consume: leaving the group: %w", cctx.Err()))
	}
	c.m.unregister(c.opts.Registerer)
	c.log.Info("consumer closed", zap.Int64("consumed", c.consumed.Load()), zap.Int64("done", c.doneN.Load()))
	return errors.Join(errs...)
}

// minFinalCommit is what the final commit gets when the drain used up the
// whole budget: committing what is done is worth a second past it.
const minFinalCommit = time.Second

// finalCommitContext bounds Close's commit by ctx's deadline, not by ctx
// itself (which waiting may have ended), nor by more than timeout: the
// commit is part of the caller's shutdown budget.
func finalCommitContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, max(time.Until(dl), minFinalCommit))
	}
	return context.WithTimeout(context.WithoutCancel(ctx), timeout)
}

// waitIdle waits until no record is in flight or ctx is done.
func (c *Consumer) waitIdle(ctx context.Context) error {
	for {
		n := c.inFlight.Load()
		if n == 0 {
			return nil
		}
		select {
		case <-c.idle:
		case <-ctx.Done():
			return fmt.Errorf("%w: %d not done: %w", ErrInFlight, n, ctx.Err())
		}
	}
}

// Abort closes the client at once, as a crash would: it waits for no
// record and commits nothing more. Later Done calls are ignored. It is for
// tests of crash recovery; a second call, or one after Close, does nothing.
func (c *Consumer) Abort() {
	if !c.closed.CompareAndSwap(false, true) {
		return
	}
	c.aborted.Store(true)
	close(c.abort)
	c.stopFetching()
	close(c.quit)
	c.stopCommits()
	c.stopGroup()
	c.forget(c.take(nil, true))
	c.unpark()
	c.cl.CloseAllowingRebalance()
	<-c.loopDone
	<-c.lagDone
	c.m.unregister(c.opts.Registerer)
}

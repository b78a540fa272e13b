// Package pipeline wires consume, mapper, sink and dlq together and decides
// when a record is done: only once Optikpi acknowledged it or the dead-letter
// topic holds it, which is when its offset may be committed.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/consume"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/sink"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// Options are what the configuration file does not say: where logs and
// metrics go, and overrides for tests and the demo.
type Options struct {
	// Logger receives structured logs; nil discards them.
	Logger *zap.Logger
	// Registerer receives every metric of the pipeline and its parts; nil
	// registers none.
	Registerer prometheus.Registerer
	// KafkaOpts are added to the consumer's and the dead-letter producer's
	// Kafka clients, after those the configuration implies.
	KafkaOpts []kgo.Opt
	// Tokens replaces the token source of the destinations it names.
	Tokens map[string]optikpi.TokenSource
	// HTTPClient sends the requests to Optikpi; nil uses a pooled default.
	HTTPClient *http.Client
	// LagInterval is how often the consumer reads its group's lag from
	// the brokers; 0 takes consume.DefaultLagInterval.
	LagInterval time.Duration
	// Mapper is cfg's routes compiled by mapper.New, when the caller has
	// them already; nil compiles them.
	Mapper *mapper.Mapper

	revokeTimeout time.Duration // tests: consume.Options.RevokeTimeout
}

// Pipeline relays records from Kafka to Optikpi or the dead-letter topic.
type Pipeline struct {
	logger    *zap.Logger
	mapper    *mapper.Mapper
	sink      sender
	dlq       deadLetterer
	dlqClient *kgo.Client // the dlq's, for Run's checks of the topic
	dlqTopic  string
	consumer  source
	counts    *counters
	reg       prometheus.Registerer

	// life outlives Run: dead-letter writes started while the sink drains
	// must still complete during a graceful shutdown.
	life       context.Context
	cancelLife context.CancelFunc
	closeOnce  sync.Once

	// dlqMaxBytes caps a dead letter's record batch: dlq.max_message_bytes,
	// or the topic's max.message.bytes when smaller.
	dlqMaxBytes atomic.Int32

	mapHook func(*kgo.Record) // tests: called in mapRecord's panic guard
}

// New builds every part from cfg and validates it; nothing is fetched until
// Run.
func New(cfg *config.Config, opts Options) (*Pipeline, error) {
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	kopts, err := KafkaOpts(cfg.Kafka, logger)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	kopts = append(kopts, opts.KafkaOpts...)

	p, err := newPipeline(cfg, opts.Mapper, logger)
	if err != nil {
		return nil, err
	}
	p.reg = opts.Registerer
	p.dlqMaxBytes.Store(int32(cfg.DLQ.MaxMessageBytes))
	closers := []func(){p.cancelLife}
	fail := func(err error) (*Pipeline, error) {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil, fmt.Errorf("pipeline: %w", err)
	}

	opts.Logger = logger
	snk, err := NewSink(cfg, opts)
	if err != nil {
		p.cancelLife()
		return nil, err // NewSink's error names the pipeline already
	}
	p.sink = snk
	closers = append(closers, func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		snk.Close(ctx)
	})

	p.dlqClient, err = kgo.NewClient(append(kafkaMetrics(kopts, opts.Registerer),
		kgo.ClientID(cfg.Kafka.ClientID+"-dlq"),
		// acks=all and idempotence are kgo's defaults; stated so that no
		// later option can quietly weaken what a dead letter relies on.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		// Read when the partition is first produced to, after Run has
		// lowered it to the topic's max.message.bytes.
		kgo.ProducerBatchMaxBytesFn(func(string) int32 { return p.dlqMaxBytes.Load() }),
	)...)
	if err != nil {
		return fail(fmt.Errorf("dead-letter producer: %w", err))
	}
	w, err := dlq.NewWriter(p.dlqClient, dlq.Options{
		Topic:      cfg.DLQ.Topic,
		Version:    buildinfo.Version(),
		Logger:     logger.Named("dlq"),
		Registerer: opts.Registerer,
	})
	if err != nil {
		p.dlqClient.Close()
		return fail(err)
	}
	p.dlq = dlqWriter{Writer: w, client: p.dlqClient}
	closers = append(closers, func() { p.dlq.Close(context.Background()) }) // nothing pending: returns at once

	cons, err := consume.New(consume.Options{
		Brokers:          cfg.Kafka.Brokers,
		Group:            cfg.Kafka.Group,
		Topics:           cfg.Kafka.Topics,
		TopicRegex:       cfg.Kafka.TopicRegex,
		ClientOpts:       append(kafkaMetrics(kopts, opts.Registerer), kgo.ClientID(cfg.Kafka.ClientID)),
		MaxInFlight:      cfg.Kafka.MaxInFlightRecords,
		MaxInFlightBytes: int64(cfg.Kafka.MaxInFlightBytes),
		CommitInterval:   cfg.Kafka.CommitInterval,
		LagInterval:      opts.LagInterval,
		RevokeTimeout:    opts.revokeTimeout,
		Logger:           logger.Named("consume"),
		Registerer:       opts.Registerer,
		OnMembers:        snk.SetGroupMembers,

		SessionTimeout:    cfg.Kafka.SessionTimeout,
		RebalanceTimeout:  cfg.Kafka.RebalanceTimeout,
		HeartbeatInterval: cfg.Kafka.HeartbeatInterval,
		Balancers:         []kgo.GroupBalancer{balancer(cfg.Kafka.Balancer)},
		InstanceID:        cfg.Kafka.InstanceID,

		FetchMaxBytes:          int32(cfg.Kafka.FetchMaxBytes),
		FetchMaxPartitionBytes: int32(cfg.Kafka.FetchMaxPartitionBytes),
		FetchMaxWait:           cfg.Kafka.FetchMaxWait,
		MaxConcurrentFetches:   cfg.Kafka.MaxConcurrentFetches,
	})
	if err != nil {
		return fail(err)
	}
	p.consumer = cons
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(p.counts); err != nil {
			p.consumer.Abort()
			return fail(err)
		}
	}
	return p, nil
}

// newPipeline returns a pipeline without its parts, which New builds and
// tests replace by fakes; m nil compiles cfg's routes.
func newPipeline(cfg *config.Config, m *mapper.Mapper, logger *zap.Logger) (*Pipeline, error) {
	if m == nil {
		var err error
		if m, err = mapper.New(cfg); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	p := &Pipeline{logger: logger, mapper: m, counts: newCounters(), dlqTopic: cfg.DLQ.Topic}
	p.life, p.cancelLife = context.WithCancel(context.Background())
	return p, nil
}

// ErrNoDLQTopic is returned by Run when the dead-letter topic does not exist.
var ErrNoDLQTopic = errors.New("dead-letter topic does not exist")

// Run checks that the dead-letter topic exists, then fetches and relays
// records until ctx is done. It returns once fetching has stopped; records
// still in flight finish in Shutdown. A ctx ended during the start-up check
// is a shutdown too: Run returns nil.
func (p *Pipeline) Run(ctx context.Context) error {
	if err := p.checkDLQTopic(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a shutdown, not a failure
		}
		return err
	}
	defer p.checkDestinations(ctx)() // while the consumer joins
	return p.consumer.Run(ctx, p.handle)
}

// checkDLQTopic fails at start-up, naming the key, rather than let the first
// bad record wait forever on a dead-letter write that cannot succeed.
func (p *Pipeline) checkDLQTopic(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(p.dlqClient).ListTopics(ctx, p.dlqTopic)
	if err != nil {
		return fmt.Errorf("pipeline: dlq.topic: looking up %q: %w", p.dlqTopic, err)
	}
	if td, ok := topics[p.dlqTopic]; !ok || td.Err != nil {
		return fmt.Errorf("pipeline: dlq.topic: %q: %w (create it with the retention on-call needs to replay)", p.dlqTopic, ErrNoDLQTopic)
	}
	p.readDLQLimit(ctx)
	return nil
}

// readDLQLimit lowers the dead letters' size limit to the topic's
// max.message.bytes. It only informs: without the right to describe the
// topic, the broker's refusal is what makes an oversized dead letter go
// without its value.
func (p *Pipeline) readDLQLimit(ctx context.Context) {
	configured := p.dlqMaxBytes.Load()
	fields := []zap.Field{zap.String("dlq_topic", p.dlqTopic), zap.Int32("dlq_max_message_bytes", configured)}
	rcs, err := kadm.NewClient(p.dlqClient).DescribeTopicConfigs(ctx, p.dlqTopic)
	if err == nil {
		var rc kadm.ResourceConfig
		if rc, err = rcs.On(p.dlqTopic, nil); err == nil {
			err = rc.Err
		}
		for _, c := range rc.Configs {
			if c.Key != "max.message.bytes" || c.Value == nil {
				continue
			}
			n, perr := strconv.ParseInt(*c.Value, 10, 64)
			if perr != nil {
				err = fmt.Errorf("max.message.bytes %q: %w", *c.Value, perr)
				break
			}
			// Below the client's floor every produce would fail; the
			// broker's refusal then says it, record by record.
			if n < int64(configured) && n >= config.MinDLQMessageBytes {
				p.dlqMaxBytes.Store(int32(n))
				p.logger.Info("dead letters limited to the topic's max.message.bytes", append(fields, zap.Int64("topic_max_message_bytes", n))...)
			}
			return
		}
	}
	p.logger.Warn("cannot read the dead-letter topic's max.message.bytes; using dlq.max_message_bytes", append(fields, zap.Error(err))...)
}

// handle is called from one goroutine per partition, in the partition's
// order, which is what keeps a user's state records in order through the
// sink; partitions are handled at once, so it must be safe for concurrent
// use, and a SendTo that blocks holds back only its own partition.
func (p *Pipeline) handle(ctx context.Context, r *consume.Record) {
	p.counts.consumed.Add(1)
	res, err := p.mapRecord(r.Record)
	if err != nil {
		p.deadLetter(r, r, MappingFailure(err))
		return
	}
	if res.Skipped {
		p.counts.skipped.Add(1)
		r.Done()
		return
	}
	// A record fanned out is done once each of its outputs is.
	var f *fanout
	if n := res.Len(); n > 1 {
		f = newFanout(r, n)
		p.counts.fannedOut.Add(int64(n - 1))
	}
	for i := range res.Len() {
		p.send(ctx, r, f, res.Route, res.At(i))
	}
}

// send delivers one output of r, or dead-letters it, and tells its
// finisher: f when r is fanned out, else r.
func (p *Pipeline) send(ctx context.Context, r *consume.Record, f *fanout, route string, out *mapper.Output) {
	if out.Failure != nil {
		p.deadLetter(r, finisherOf(r, f), MappingFailure(out.Failure))
		return
	}
	d := &delivery{p: p, r: r, f: f, route: route, output: out.Name, eventID: out.Record.EventID, kind: out.Record.Kind}
	err := p.sink.SendTo(ctx, out.Destination, out.Record, d)
	if err != nil {
		// Only on shutdown: abandoned, the record is never committed, so the
		// partition's next owner relays it again, and Close need not wait.
		p.logger.Debug("record not queued", zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset), zap.Error(err))
		d.fin().Abandon()
	}
}

// delivery is one output of r in the sink, and its sink.Owner: one
// allocation per output, where an owned func and a done closure were two.
// f, nil unless r is fanned out, is a pointer rather than a finisher: the
// eight bytes saved take the delivery down a size class, to 80 bytes.
type delivery struct {
	p                      *Pipeline
	r                      *consume.Record
	f                      *fanout
	route, output, eventID string
	kind                   optikpi.Kind
}

// fin is what finishes the output: its fanout, else its record.
func (d *delivery) fin() finisher { return finisherOf(d.r, d.f) }

// Owned is r's: once the partition moved, what this member still holds of
// it must not overtake what the next owner delivers (issue 10, defect 7).
func (d *delivery) Owned() bool { return d.r.Owned() }

// Final counts a delivered output and tells fin, or dead-letters the output
// the sink gave up.
func (d *delivery) Final(f *sink.Failure, at time.Time) {
	if f == nil {
		d.p.counts.delivered[d.kind].Add(1)
		finished(d.p.counts.latencyDelivered, d.r.Timestamp, at)
		d.fin().Done()
		return
	}
	e := DeliveryFailure(f, d.route, d.eventID)
	e.Output = d.output
	d.p.deadLetter(d.r, d.fin(), e)
}

// deadLetter writes e for r and tells fin once the broker has it. A
// record of a partition that moved is left to its next owner, lest it be
// dead-lettered twice.
func (p *Pipeline) deadLetter(r *consume.Record, fin finisher, e dlq.Entry) {
	if !r.Owned() {
		fin.Abandon()
		return
	}
	e.Source = r.Record
	reason := e.Reason
	p.dlq.Write(p.life, e, func(err error) {
		if err != nil {
			fin.Abandon() // shutting down: never committed, relayed again
			return
		}
		p.counts.deadLettered(reason).Add(1)
		finished(p.counts.latencyDeadLettered, r.Timestamp, time.Now())
		fin.Done()
	})
}

// Shutdown drains after Run has returned: open batches are flushed, in-flight
// requests and dead-letter writes are waited for, what is done is committed
// and the consumer leaves its group. Whatever is not done when ctx ends is
// left uncommitted, to be relayed again by the partition's next owner.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	var errs []error
	p.closeOnce.Do(func() {
		drain, cancel := drainContext(ctx)
		defer cancel()
		// In this order: the sink's last failures become dead letters,
		// and the dead letters' acknowledgements make records done,
		// before the consumer commits what is done.
		if err := p.sink.Close(drain); err != nil {
			errs = append(errs, fmt.Errorf("sink: %w", err))
		}
		if err := p.dlq.Close(drain); err != nil {
			errs = append(errs, fmt.Errorf("dead-letter writer: %w", err))
		}
		// The consumer stops waiting for records when the drain ends, but
		// commits and leaves within ctx's deadline: the reserve is the
		// commit's, not a second more for the drain.
		wait, stop := context.WithCancel(ctx)
		defer stop()
		defer context.AfterFunc(drain, stop)()
		if err := p.consumer.Close(wait); err != nil {
			errs = append(errs, fmt.Errorf("consumer: %w", err))
		}
		p.cancelLife()
		telemetry.Unregister(p.reg, p.counts)
	})
	return errors.Join(errs...)
}

// The final commit and leaving the group share the shutdown budget with the
// drain, so the whole shutdown fits the pod's grace period: the drain stops
// commitReserve before ctx's deadline (at most a fifth of the budget), and
// the consumer's final commit and leave run in the reserve, at least a
// second (consume.Consumer.Close).
const commitReserve = 5 * time.Second

// drainContext returns the context the drain runs under: ctx, ending
// early enough to leave the final commit its reserve.
func drainContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	reserve := min(commitReserve, time.Until(dl)/5)
	return context.WithDeadline(ctx, dl.Add(-reserve))
}

// Abort stops at once, as a crash would: nothing is flushed or committed.
func (p *Pipeline) Abort() {
	p.closeOnce.Do(func() {
		p.consumer.Abort()
		p.cancelLife()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p.sink.Close(ctx)
		p.dlq.Close(ctx)
		telemetry.Unregister(p.reg, p.counts)
	})
}

// Consumer returns the Kafka consumer, for its statistics and client; nil
// when a test replaced it.
func (p *Pipeline) Consumer() *consume.Consumer {
	c, _ := p.consumer.(*consume.Consumer)
	return c
}

package dlq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// Options configure a Writer.
type Options struct {
	// Topic is the dead-letter topic; required.
	Topic string
	// Version is written in HeaderVersion; empty writes none.
	Version string
	// Logger receives structured logs; nil discards them.
	Logger *zap.Logger
	// Registerer receives the writer's metrics; nil registers none.
	Registerer prometheus.Registerer
}

// Retry backoff of a failed produce: doubling from minBackoff up to
// maxBackoff, with jitter.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// A Kafka topic name: 1 to maxTopicName of topicChars. Not one {1,249}
// pattern, whose compiled program (thousands of instructions, every
// start-up) costs more than the whole rest of the package's init.
var topicChars = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

const maxTopicName = 249

// Writer writes dead letters. A failed produce is retried with backoff
// until it succeeds, its context ends or Close gives up: a dead letter is
// never dropped. A dead letter refused as too large (MESSAGE_TOO_LARGE from
// the client's ProducerBatchMaxBytes or the broker's max.message.bytes) is
// written again without the original value, with HeaderValueOmitted and
// HeaderValueBytes, and if still refused without the original key and
// headers too (HeaderKeyHeadersOmitted), so that its partition can commit
// past it.
type Writer struct {
	cl   *kgo.Client
	opts Options
	log  *zap.Logger
	m    *metrics

	// life ends when Close gives up; it cancels every write still going.
	life context.Context
	kill context.CancelFunc

	mu      sync.Mutex
	closed  bool
	pending int
	drained chan struct{} // made by Close, closed when pending reaches 0
	// suspects are the writes last refused as too large, by their size: a
	// refusal counts only against the largest, for a smaller one may just
	// have shared its batch (see blamed).
	suspects map[*write]int

	unregister sync.Once
}

// NewWriter returns a writer that produces with client. The client must be
// safe for dead letters: acks from all in-sync replicas and idempotent
// writes, which are kgo's defaults; NewWriter refuses a client configured
// otherwise, or a transactional one. The caller keeps owning client and
// closes it after the Writer.
func NewWriter(client *kgo.Client, opts Options) (*Writer, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("no client"))
	} else {
		if acks, _ := client.OptValue(kgo.RequiredAcks).(kgo.Acks); acks != kgo.AllISRAcks() {
			errs = append(errs, errors.New("client must use kgo.RequiredAcks(kgo.AllISRAcks())"))
		}
		if off, _ := client.OptValue(kgo.DisableIdempotentWrite).(bool); off {
			errs = append(errs, errors.New("client must not use kgo.DisableIdempotentWrite"))
		}
		if vs := client.OptValues(kgo.TransactionalID); len(vs) == 2 && vs[1] == true {
			errs = append(errs, errors.New("client must not be transactional"))
		}
	}
	if t := opts.Topic; len(t) > maxTopicName || !topicChars.MatchString(t) || t == "." || t == ".." {
		errs = append(errs, fmt.Errorf("topic %q is not a valid Kafka topic name", opts.Topic))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	w := &Writer{cl: client, opts: opts, log: opts.Logger, m: newMetrics()}
	if err := w.m.register(opts.Registerer); err != nil {
		return nil, fmt.Errorf("dlq: metrics: %w", err)
	}
	w.life, w.kill = context.WithCancel(context.Background())
	return w, nil
}

// Write produces the dead letter for e and returns without waiting. done
// is called exactly once: with nil once the broker has acknowledged the
// write, or with an error only when ctx is done, the writer gave up at
// Close (ErrClosed), the client was closed, or e has no Source
// (ErrInvalidEntry). A failed produce is retried with backoff in the
// meantime. done runs on a producer goroutine and must not block; it may
// run before Write returns. Write itself blocks only while the client's
// produce buffer is full.
func (w *Writer) Write(ctx context.Context, e Entry, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if e.Source == nil {
		done(fmt.Errorf("%w: no source record", ErrInvalidEntry))
		return
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		done(ErrClosed)
		return
	}
	w.pending++
	w.mu.Unlock()
	op := &write{w: w, ctx: ctx, rec: record(w.opts.Topic, w.opts.Version, e), e: e, done: done}
	op.produce()
}

// write is one dead letter on its way, across retries.
type write struct {
	w       *Writer
	ctx     context.Context
	rec     *kgo.Record // template; each attempt produces a copy
	e       Entry
	done    func(error)
	attempt int
	// tooLarge counts the too-large refusals of rec as it is.
	tooLarge int
}

func (op *write) stopped() error {
	if op.w.life.Err() != nil {
		return ErrClosed
	}
	if err := op.ctx.Err(); err != nil {
		return fmt.Errorf("dlq: %w", err)
	}
	return nil
}

func (op *write) produce() {
	if err := op.stopped(); err != nil {
		op.finish(err)
		return
	}
	ctx, cancel := context.WithCancel(op.ctx)
	stop := context.AfterFunc(op.w.life, cancel)
	rec := *op.rec // kgo sets partition, offset and more on the record it is given
	op.w.cl.Produce(ctx, &rec, func(_ *kgo.Record, err error) {
		stop()
		cancel()
		op.produced(err)
	})
}

func (op *write) produced(err error) {
	w := op.w
	if err == nil {
		w.m.written.WithLabelValues(string(op.e.Reason)).Inc()
		op.finish(nil)
		return
	}
	if serr := op.stopped(); serr != nil {
		op.finish(serr)
		return
	}
	if errors.Is(err, kgo.ErrClientClosed) {
		op.finish(fmt.Errorf("dlq: %w", err))
		return
	}
	if tooLarge(err) && op.shrinkable() {
		if w.blamed(op) {
			op.tooLarge++
		}
		// Retrying the same bytes would fail forever and hold the
		// partition's commits: the dead letter goes without the value
		// (then without the original key and headers), which stay in the
		// source topic at the coordinates it names. A record that fits the
		// client's limit may have been refused for the batch it shared, so
		// it is retried as is a few times first: the broker's limit may be
		// lower than the client's.
		if op.tooLarge >= tooLargeTries || recordBytes(op.rec) > w.batchLimit() {
			op.shrink()
			msg := "dead letter too large for its topic; writing it without the original value"
			if op.e.KeyHeadersOmitted {
				msg = "dead letter too large for its topic without the original value; writing it without the original key and headers too"
			}
			w.log.Warn(msg,
				zap.String("dlq_topic", w.opts.Topic),
				zap.String("topic", op.e.Source.Topic),
				zap.Int32("partition", op.e.Source.Partition),
				zap.Int64("offset", op.e.Source.Offset),
				zap.String("reason", string(op.e.Reason)),
				zap.Int("value_bytes", op.e.ValueBytes),
				zap.Bool("key_headers_omitted", op.e.KeyHeadersOmitted),
				zap.Error(err))
			go op.produce() // not on the producer's goroutine: Produce may block
			return
		}
	}
	if !tooLarge(err) {
		// Refused for another cause: no longer a suspect that could
		// keep a smaller one's refusals from counting.
		w.mu.Lock()
		delete(w.suspects, op)
		w.mu.Unlock()
	}
	// Counted only when retried as it was: a refusal answered by going
	// without the value is no failing write, and counting it would fire
	// OptikpiRelayDeadLetterWritesFailing under a stream of large records.
	w.m.errors.Inc()
	op.attempt++
	delay := backoff(op.attempt)
	fields := []zap.Field{
		zap.String("dlq_topic", w.opts.Topic),
		zap.String("topic", op.e.Source.Topic),
		zap.Int32("partition", op.e.Source.Partition),
		zap.Int64("offset", op.e.Source.Offset),
		zap.String("reason", string(op.e.Reason)),
		zap.Int("attempt", op.attempt),
		zap.Duration("retry_in", delay),
		zap.Error(err),
	}
	if tooLarge(err) || errors.Is(err, kerr.TopicAuthorizationFailed) {
		// Retrying will not help until an operator acts; the record's
		// offset stays uncommitted meanwhile, as promised.
		w.log.Error("dead-letter write failed; retrying until it succeeds", fields...)
	} else {
		w.log.Warn("dead-letter write failed; retrying", fields...)
	}
	go op.retryAfter(delay)
}

// blamed records op, just refused as too large at its present size, among
// the suspects, and reports whether the refusal counts against it: only
// when no other suspect is larger. A small dead letter that keeps sharing
// its batch with a too-large one is then not written without its value
// for the other's sake: the largest goes without its value first, and the
// smaller one is next tried without it in the batch.
func (w *Writer) blamed(op *write) bool {
	size := recordBytes(op.rec)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.suspects == nil {
		w.suspects = make(map[*write]int)
	}
	w.suspects[op] = size
	for other, n := range w.suspects {
		if other != op && n > size {
			return false
		}
	}
	return true
}

// shrinkable reports whether the dead letter still carries something of
// the original record it can go without.
func (op *write) shrinkable() bool { return !op.e.ValueOmitted || !op.e.KeyHeadersOmitted }

// shrink drops the original value, or once it is gone, the original key
// and headers.
func (op *write) shrink() {
	if !op.e.ValueOmitted {
		op.e.ValueOmitted, op.e.ValueBytes = true, len(op.e.Source.Value)
	} else {
		op.e.KeyHeadersOmitted = true
	}
	op.tooLarge = 0
	op.e.FailedAt = op.rec.Timestamp
	op.rec = record(op.w.opts.Topic, op.w.opts.Version, op.e)
}

// tooLargeTries is how many too-large refusals a dead letter that fits
// the client's batch limit gets before it is written without its value.
const tooLargeTries = 3

// batchLimit is the client's record batch limit for the dead-letter topic.
func (w *Writer) batchLimit() int {
	if fn, ok := w.cl.OptValue(kgo.ProducerBatchMaxBytesFn).(func(string) int32); ok {
		return int(fn(w.opts.Topic))
	}
	return math.MaxInt
}

// recordBytes is the least r alone takes in a record batch: the batch's
// header, and r's fields with their shortest length prefixes. Beyond the
// limit, r cannot fit whatever batch it shares.
func recordBytes(r *kgo.Record) int {
	const batchHeader, recordOverhead, headerOverhead = 61, 7, 2
	n := batchHeader + recordOverhead + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += headerOverhead + len(h.Key) + len(h.Value)
	}
	return n
}

// tooLarge reports whether err is the client's or the broker's refusal of
// a record that does not fit in the topic's record batch.
func tooLarge(err error) bool {
	return errors.Is(err, kerr.MessageTooLarge) || errors.Is(err, kerr.RecordListTooLarge)
}

func (op *write) retryAfter(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		op.produce()
	case <-op.ctx.Done():
		op.finish(op.stopped())
	case <-op.w.life.Done():
		op.finish(ErrClosed)
	}
}

func (op *write) finish(err error) {
	op.done(err)
	w := op.w
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.suspects, op)
	w.pending--
	if w.pending == 0 && w.drained != nil {
		close(w.drained)
		w.drained = nil
	}
}

func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt < 16 {
		d = min(minBackoff<<(attempt-1), maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// Close stops accepting writes (later ones get ErrClosed) and waits until
// every pending write is done, including its done callback, or ctx ends.
// Then it gives up the writes still pending, which get ErrClosed, and
// returns an error wrapping ctx's. It unregisters the writer's metrics but
// does not close the client.
func (w *Writer) Close(ctx context.Context) error {
	defer w.unregister.Do(func() { telemetry.Unregister(w.opts.Registerer, w.m.written, w.m.errors) })
	w.mu.Lock()
	w.closed = true
	n := w.pending
	if n == 0 {
		w.mu.Unlock()
		return nil
	}
	if w.drained == nil {
		w.drained = make(chan struct{})
	}
	drained := w.drained
	w.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		w.kill()
		return fmt.Errorf("dlq: %d writes pending at close: %w", n, ctx.Err())
	}
}

// Pending returns the number of writes not yet done.
func (w *Writer) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending
}

const namespace = telemetry.Namespace

type metrics struct {
	written *prometheus.CounterVec
	errors  prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "dlq", Name: "records_written_total",
			Help: "Dead letters acknowledged by the broker, by reason.",
		}, []string{"reason"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "dlq", Name: "write_errors_total",
			Help: "Failed dead-letter produce attempts, each retried as it was; not a too-large refusal answered by writing the dead letter without the original value.",
		}),
	}
	for _, r := range failure.Reasons() {
		m.written.WithLabelValues(string(r))
	}
	return m
}

func (m *metrics) register(r prometheus.Registerer) error {
	return telemetry.Register(r, m.written, m.errors)
}

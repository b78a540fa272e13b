package sink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// Destination is one Optikpi workspace to deliver to.
type Destination struct {
	Name        string // unique; names the destination in Send, metrics, logs and failures
	BaseURL     string // such as "https://gw.example.com/apigw/ingest"
	AccountID   string
	WorkspaceID string
	Token       optikpi.TokenSource // read again for every request
}

// Limits of the API.
const (
	// MaxBatchSize is the most records the API takes in one request.
	MaxBatchSize = 500
	// MaxRequestBytes is the largest body the API's serverless gateway
	// passes on (6 MiB); a record whose body alone is larger fails as
	// too_large without a request.
	MaxRequestBytes = 6 << 20
)

// Defaults of Options.
const (
	DefaultBatchSize          = MaxBatchSize
	DefaultMaxBatchBytes      = 1 << 20
	DefaultLinger             = 200 * time.Millisecond
	DefaultInFlight           = 4
	DefaultRequestTimeout     = 30 * time.Second
	DefaultMisconfiguredRetry = 30 * time.Second
)

// Options tunes a Sink. The zero value is valid: every field has a default.
type Options struct {
	// BatchSize is the most records per request. Default and maximum 500.
	BatchSize int
	// MaxBatchBytes caps a request body; a batch is sent when the next
	// record would take it past the cap. A single record larger than the
	// cap is sent alone. Default 1 MiB; at most MaxRequestBytes (6 MiB).
	MaxBatchBytes int
	// Linger is how long a partial batch waits for more records after its
	// first. Default 200ms.
	Linger time.Duration
	// InFlight is the most concurrent requests per destination and
	// endpoint. For state kinds it is also the number of per-user lanes.
	// Default 4.
	InFlight int
	// QueueSize is how many records per destination and endpoint may wait
	// for a batch before Send blocks. Default BatchSize × InFlight.
	QueueSize int
	// RateLimits overrides the requests per second of the given kinds'
	// endpoints: the account's whole allowance, which SetGroupMembers
	// divides among the relays and the destinations sharing it. Nil: the
	// guide's, 50/s for customers and extended attributes and 250/s for
	// each event endpoint.
	RateLimits map[optikpi.Kind]rate.Limit
	// RequestTimeout bounds each HTTP attempt. Default 30s.
	RequestTimeout time.Duration
	// Retry says how throttled and transient failures are retried. Its
	// MaxAttempts 0 (the default) retries until the record is delivered or
	// Close gives up; more dead-letters a batch's records with reason
	// retries_exhausted after that many attempts.
	Retry optikpi.RetryPolicy
	// MisconfiguredRetry is how often a misconfigured destination is
	// probed again. Default 30s.
	MisconfiguredRetry time.Duration
	// HTTPClient carries the requests (TLS, proxy, connection pool); its
	// transport is wrapped to count and time every attempt. Default: a
	// pooled transport of the sink's own, closed by Close.
	HTTPClient *http.Client
	// TLSConfig and Proxy configure the sink's own transport when
	// HTTPClient is nil. Defaults: the system's roots, and the proxy the
	// HTTPS_PROXY, HTTP_PROXY and NO_PROXY variables name.
	TLSConfig *tls.Config
	Proxy     func(*http.Request) (*url.URL, error)
	// Logger logs failures and changes of readiness. Default: none.
	Logger *zap.Logger
	// Registerer registers the sink's metrics; Close unregisters them.
	// Nil: no metrics are registered.
	Registerer prometheus.Registerer
}

// Failure is why a record could not be delivered. It is final: the record
// should be dead-lettered.
type Failure struct {
	Reason      failure.Reason // Rejected, TooLarge or RetriesExhausted
	Destination string
	Endpoint    string // such as "/events/deposit"
	Status      int    // HTTP status of the last answer, 0 when none
	APIError    []byte // the API's error body, as read (token scrubbed); nil when none
	Message     string // the client's description of the outcome
	Attempts    int    // HTTP attempts of the request that made the failure final
}

func (f *Failure) Error() string {
	return fmt.Sprintf("sink: %s by destination %q %s: %s", f.Reason, f.Destination, f.Endpoint, f.Message)
}

// Errors of Send and Close.
var (
	ErrClosed             = errors.New("sink: closed")
	ErrUnknownDestination = errors.New("sink: unknown destination")
)

// Sink batches records and delivers them to their destinations. It is safe
// for concurrent use.
type Sink struct {
	opts    Options
	log     *zap.Logger
	metrics *metrics
	dests   map[string]*destination
	order   []*destination // as given to New: Ready's order, and SendTo's scan
	shares  *shares
	// checkGauge is the result of each destination's last check.
	checkGauge *prometheus.GaugeVec
	batches    batchPool
	bodies     bodyPool

	// closed is set when Close starts, before closing is closed: Send
	// returns ErrClosed once it reads it (see lane.entered), and closing
	// unblocks the Sends waiting for room and tells the batchers.
	closed  atomic.Bool
	closing chan struct{}
	// mu is held by Close while it sets closed, and by Check while it
	// starts a goroutine, lest one start once Close waits for them.
	mu sync.Mutex

	// hard is the context of every request; Close cancels it when its
	// own context is done, abandoning what is left.
	hard      context.Context
	abandon   context.CancelFunc
	wg        sync.WaitGroup // batchers and senders
	abandoned atomic.Int64   // records whose done will never be called

	transport *http.Transport // the sink's own, nil when HTTPClient was given
	closeOnce sync.Once
	closeErr  error
}

// New validates dests and opts, creates one optikpi.Client per destination
// and starts the batchers and senders. Close stops them.
func New(dests []Destination, opts Options) (*Sink, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if len(dests) == 0 {
		return nil, errors.New("sink: no destination")
	}
	s := &Sink{
		opts:    opts,
		log:     opts.Logger,
		metrics: newMetrics(),
		dests:   make(map[string]*destination, len(dests)),
		closing: make(chan struct{}),

		checkGauge: newCheckGauge(),
		batches:    batchPool{size: opts.BatchSize},
		// A full batch's body, with room for the record that ends it.
		bodies: bodyPool{keep: 2 * opts.MaxBatchBytes},
	}
	hc := opts.HTTPClient
	if hc == nil {
		s.transport = optikpi.NewTransport()
		if opts.TLSConfig != nil {
			s.transport.TLSClientConfig = opts.TLSConfig
		}
		if opts.Proxy != nil {
			s.transport.Proxy = opts.Proxy
		}
		hc = &http.Client{Transport: s.transport}
	}
	for i, d := range dests {
		switch {
		case strings.TrimSpace(d.Name) == "":
			return nil, fmt.Errorf("sink: destinations[%d]: empty name", i)
		case s.dests[d.Name] != nil:
			return nil, fmt.Errorf("sink: destinations[%d]: duplicate name %q", i, d.Name)
		}
		dest, err := s.newDestination(d, hc)
		if err != nil {
			return nil, fmt.Errorf("sink: destination %q: %w", d.Name, err)
		}
		s.dests[d.Name] = dest
		s.order = append(s.order, dest)
	}
	s.shares = newShares(dests, s.order)
	if err := s.metrics.register(opts.Registerer); err != nil {
		return nil, fmt.Errorf("sink: register metrics: %w", err)
	}
	if err := telemetry.Register(opts.Registerer, s.shares.gauge, s.checkGauge); err != nil {
		s.metrics.unregister(opts.Registerer)
		return nil, fmt.Errorf("sink: register metrics: %w", err)
	}
	s.SetGroupMembers(1) // until the group says otherwise
	s.hard, s.abandon = context.WithCancel(context.Background())
	for _, d := range s.order {
		d.start()
	}
	return s, nil
}

func (o *Options) setDefaults() error {
	switch {
	case o.BatchSize < 0 || o.BatchSize > MaxBatchSize:
		return fmt.Errorf("sink: batch size %d: want 1 to %d", o.BatchSize, MaxBatchSize)
	case o.MaxBatchBytes < 0 || o.MaxBatchBytes > MaxRequestBytes:
		return fmt.Errorf("sink: max batch bytes %d: want 1 to %d", o.MaxBatchBytes, MaxRequestBytes)
	case o.Linger < 0:
		return fmt.Errorf("sink: linger %s is negative", o.Linger)
	case o.InFlight < 0:
		return fmt.Errorf("sink: in-flight %d is negative", o.InFlight)
	case o.QueueSize < 0:
		return fmt.Errorf("sink: queue size %d is negative", o.QueueSize)
	case o.RequestTimeout < 0:
		return fmt.Errorf("sink: request timeout %s is negative", o.RequestTimeout)
	case o.MisconfiguredRetry < 0:
		return fmt.Errorf("sink: misconfigured retry %s is negative", o.MisconfiguredRetry)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.Linger == 0 {
		o.Linger = DefaultLinger
	}
	if o.InFlight == 0 {
		o.InFlight = DefaultInFlight
	}
	if o.QueueSize == 0 {
		o.QueueSize = o.BatchSize * o.InFlight
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MisconfiguredRetry == 0 {
		o.MisconfiguredRetry = DefaultMisconfiguredRetry
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return nil
}

// Send queues rec for destination dest. done is called exactly once, from
// another goroutine, when the record is final: with nil once Optikpi
// acknowledged it, else with a *Failure. done may be called concurrently for
// different records and should return quickly: the endpoint's next request
// waits for it.
//
// Send blocks while the queue of dest's endpoint for rec.Kind is full. It
// returns an error, and never calls done, when ctx is done, the sink is
// closed, dest is unknown or rec.Kind is invalid. A user's state records are
// delivered in the order of the Send calls that queued them. What the sink
// keeps of rec is a copy: nothing of rec's memory is kept past the call.
func (s *Sink) Send(ctx context.Context, dest string, rec optikpi.Encoded, done func(*Failure)) error {
	if done == nil {
		return s.SendTo(ctx, dest, rec, nil)
	}
	return s.SendTo(ctx, dest, rec, doneFunc(done))
}

// Owner is what a record queued with SendTo belongs to: asked whether it
// may still be delivered, and told when it is final. One Owner per record
// lets the caller pass what it already holds for the record, where an
// owned func and a done func would each be a closure.
type Owner interface {
	// Owned reports whether the record may still be delivered, such as a
	// Kafka record while this member owns its partition. It is asked
	// before every HTTP attempt (the first, each retry, each part of a
	// split) and before the record fails as too large: once false, the
	// record is dropped, neither delivered nor failed, and Final is never
	// called, since whoever owns it now delivers it. The other records of
	// its batch keep their order. It must be cheap and safe from any
	// goroutine.
	Owned() bool
	// Final is Send's done: called exactly once, from another
	// goroutine, with nil once Optikpi acknowledged the record, else with
	// a *Failure; never when the record is dropped or abandoned. at is
	// when the sink learned the outcome, read once for a whole batch:
	// the clock is too dear to read once per record.
	Final(f *Failure, at time.Time)
}

// SendTo is Send for a record that may be delivered only while o.Owned
// reports true, with o.Final for done; a nil o is an error, as a nil done
// is.
func (s *Sink) SendTo(ctx context.Context, dest string, rec optikpi.Encoded, o Owner) error {
	d := s.destination(dest)
	switch {
	case d == nil:
		return fmt.Errorf("%w %q", ErrUnknownDestination, dest)
	case !rec.Kind.Valid():
		return fmt.Errorf("sink: record of invalid %v", rec.Kind)
	case o == nil:
		return errors.New("sink: nil done")
	}
	l := d.endpoints[rec.Kind].lane(rec.UserID)
	l.entered.Add(1) // before closed is read: see lane.entered
	if s.closed.Load() {
		l.backOut()
		return ErrClosed
	}
	// Selects of one case and a default take no lock while their channel
	// is not ready, and a send with room takes only the queue's: the
	// three-way select below, which locks all three, is for a full queue.
	select {
	case <-ctx.Done():
		l.backOut()
		return ctx.Err()
	default:
	}
	it := item{json: l.own(&rec), o: o}
	select {
	case l.in <- it:
		return nil
	default:
	}
	select {
	case l.in <- it:
		return nil
	case <-s.closing:
		l.backOut()
		return ErrClosed
	case <-ctx.Done():
		l.backOut()
		return ctx.Err()
	}
}

// scanDestinations is how many destinations SendTo still finds by comparing
// names: up to it a scan cost less than hashing the name for the map
// (BenchmarkQueue, about 2.5% with one destination).
const scanDestinations = 4

// destination returns the destination named name, nil if none. A relay
// has one or a few, and SendTo looks one up for every record.
func (s *Sink) destination(name string) *destination {
	if len(s.order) > scanDestinations {
		return s.dests[name]
	}
	for _, d := range s.order {
		if d.name == name {
			return d
		}
	}
	return nil
}

// doneFunc is the Owner of a record sent with Send: always owned. A func
// fits in an interface without an allocation.
type doneFunc func(*Failure)

func (doneFunc) Owned() bool                     { return true }
func (f doneFunc) Final(x *Failure, _ time.Time) { f(x) }

// Ready returns nil when no destination is misconfigured, else an error
// naming each misconfigured destination with the API's last answer.
func (s *Sink) Ready() error {
	var errs []error
	for _, d := range s.order {
		if err := d.gate.err(); err != nil {
			errs = append(errs, fmt.Errorf("destination %q is misconfigured: %w", d.name, err))
		}
	}
	return errors.Join(errs...)
}

// DestinationHealth is one destination's answer to the health check.
type DestinationHealth struct {
	Destination string
	Health      optikpi.Health
	Err         error // why it is down; nil when ok or unknown
}

// Health asks every destination's health endpoint once, all at the same
// time, and blocks until each has answered or ctx is done. The answers are
// in the order of the destinations given to New. It does not touch the
// misconfigured gate: only a refused batch closes that.
func (s *Sink) Health(ctx context.Context) []DestinationHealth {
	out := make([]DestinationHealth, len(s.order))
	var wg sync.WaitGroup
	for i, d := range s.order {
		wg.Go(func() {
			h, err := d.client.Health(ctx)
			out[i] = DestinationHealth{Destination: d.name, Health: h, Err: err}
		})
	}
	wg.Wait()
	return out
}

// Close stops accepting records (Send returns ErrClosed), sends the open
// batches at once and waits for every request to finish, until ctx is done.
// Then it abandons what is left: requests are cancelled and the done of the
// records not yet final is never called, so their offsets stay uncommitted
// and they are delivered again after a restart. Close returns once every
// goroutine of the sink has stopped; its error says how many records were
// abandoned. Later calls return the first's result.
func (s *Sink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Sink) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed.Store(true)
	s.mu.Unlock()
	close(s.closing)

	stopped := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(stopped)
	}()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		s.abandon()
		<-stopped
		// What never left the queues is abandoned too.
		for _, d := range s.order {
			for _, ep := range d.endpoints {
				if ep == nil {
					continue
				}
				for _, l := range ep.lanes {
					for !l.settled(l.received) {
						select {
						case it := <-l.in:
							l.received++
							ep.abandonItems([]item{it})
						case <-l.nudge:
						}
					}
				}
			}
		}
		if n := s.abandoned.Load(); n > 0 {
			err = fmt.Errorf("sink: closed with %d records abandoned: %w", n, context.Cause(ctx))
		}
	}
	s.abandon()
	s.metrics.unregister(s.opts.Registerer)
	telemetry.Unregister(s.opts.Registerer, s.shares.gauge, s.checkGauge)
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	return err
}

// Package emulator is an Optikpi-compatible ingest server, with injectable
// faults, for tests, demos and local work.
package emulator

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// Config configures an Emulator. Start from DefaultConfig: its zero value
// turns validation and record keeping off.
type Config struct {
	// Token, AccountID and WorkspaceID are the credentials requests must
	// carry and sign with. Required.
	Token       string
	AccountID   string
	WorkspaceID string

	// Validate decodes every record and checks it against its model, as the
	// guide describes; a request with a bad record is refused whole (400).
	// Off, records are only delimited, so that the emulator can sit under a
	// throughput benchmark. Default true.
	Validate bool
	// Strict adds the official SDKs' stricter rules (sdk-notes.md). Default
	// false.
	Strict bool
	// RateLimit enforces the guide's per-endpoint limits, 50 requests per
	// second for customers and extattributes, 250 for each event endpoint,
	// answering 429 with Retry-After beyond them. Default false.
	RateLimit bool
	// RateLimitScale multiplies the guide's limits that RateLimit
	// enforces, so a test can meet them at a small volume; 0 means 1.
	RateLimitScale float64
	// RateLimitBurst is how many requests an endpoint takes at once
	// before its limit applies; 0 means a second's worth. A burst of 1
	// makes any two requests closer than the limit's interval meet a 429,
	// however slowly the client runs overall.
	RateLimitBurst int
	// NoRetryAfter leaves the Retry-After header off a 429, as some
	// gateways do, so the client must pick its own backoff. Default false.
	NoRetryAfter bool
	// FailRate is the fraction of requests, past authentication and the
	// rate limit, answered 500 or 503. Default 0.
	FailRate float64
	// DropRate is the fraction of such requests whose connection is closed
	// without an answer; when DropRate+FailRate exceeds 1, drops take their
	// share first. Default 0.
	DropRate float64
	// Latency delays every ingest request before it is handled. Default 0.
	Latency time.Duration
	// MaxBodyBytes is the largest body accepted; larger is 413. 0 means the
	// default, 6 MiB (the AWS Lambda payload limit behind the gateway).
	MaxBodyBytes int
	// MaxRecords is the most records a request may hold; more is 400. 0
	// means the default, 500 (the guide's batch limit).
	MaxRecords int
	// KeepRecords keeps accepted records for Records and EventIDs. Off,
	// only the counts are kept. Default true.
	KeepRecords bool
	// TrackDelay measures, for one accepted record in 8 with an RFC 3339
	// event_time, how long after that time it arrived; Stats report the
	// quantiles. A sender that stamps event_time as it produces (relay
	// bench) so measures produce-to-acknowledgement. Default false.
	TrackDelay bool
	// Reject, if not nil, is asked about every valid record when Validate
	// is on; a non-empty answer refuses the request with that issue for
	// that record, as the real API refuses what it will not take.
	Reject func(kind optikpi.Kind, r optikpi.Record) string
	// Seed seeds the random draws of the injected faults, so a run can be
	// repeated.
	Seed int64
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes = 6 << 20
	DefaultMaxRecords   = 500
)

// DefaultConfig returns a validating emulator's configuration, records kept,
// no faults, no rate limit; the credentials are left to fill in.
func DefaultConfig() Config {
	return Config{Validate: true, KeepRecords: true, MaxBodyBytes: DefaultMaxBodyBytes, MaxRecords: DefaultMaxRecords}
}

// numKinds sizes the arrays indexed by kind.
const numKinds = int(optikpi.KindSystemEvent) + 1

// Emulator is an http.Handler that behaves like the Optikpi ingest API. It
// is safe for concurrent use.
type Emulator struct {
	cfg    Config // immutable after New; faults live in the atomics below
	token  []byte
	signer *optikpi.Signer

	rateLimit    atomic.Bool
	noRetryAfter atomic.Bool
	failRate     atomic.Uint64 // math.Float64bits
	dropRate     atomic.Uint64
	latency      atomic.Int64
	limiters     [numKinds]*rate.Limiter // by kind

	rngMu sync.Mutex
	rng   *rand.Rand

	counters [numKinds]counters        // by kind
	delays   *[numKinds]delayHistogram // by kind; nil unless TrackDelay
	nextID   atomic.Uint64

	mu      sync.Mutex
	records [numKinds][][]byte
	ids     [numKinds][]string

	scratch sync.Pool // of *scratch
}

// scratch is an ingest request's buffers, reused by the next: a body is
// some 300 bytes a record, and allocating it afresh for every request
// made the emulator's GC, and returning the memory to the OS, cost as
// much as reading it.
type scratch struct {
	body []byte
	recs []record
	resp []byte
}

func (e *Emulator) getScratch() *scratch {
	if sc, ok := e.scratch.Get().(*scratch); ok {
		return sc
	}
	return new(scratch)
}

// putScratch gives sc back for reuse. Kept records point into the body,
// so that the body is then theirs.
func (e *Emulator) putScratch(sc *scratch) {
	if e.cfg.KeepRecords {
		sc.body = nil
		clear(sc.recs)
	}
	e.scratch.Put(sc)
}

// New validates cfg and returns an emulator.
func New(cfg Config) (*Emulator, error) {
	switch {
	case cfg.Token == "":
		return nil, errors.New("emulator: token is empty")
	case cfg.AccountID == "" || cfg.WorkspaceID == "":
		return nil, errors.New("emulator: account id and workspace id are required")
	case !isFraction(cfg.FailRate):
		return nil, fmt.Errorf("emulator: fail rate %v is not within [0, 1]", cfg.FailRate)
	case !isFraction(cfg.DropRate):
		return nil, fmt.Errorf("emulator: drop rate %v is not within [0, 1]", cfg.DropRate)
	case cfg.Latency < 0:
		return nil, fmt.Errorf("emulator: latency %s is negative", cfg.Latency)
	case cfg.RateLimitScale < 0:
		return nil, fmt.Errorf("emulator: rate limit scale %v is negative", cfg.RateLimitScale)
	case cfg.RateLimitBurst < 0:
		return nil, fmt.Errorf("emulator: rate limit burst %d is negative", cfg.RateLimitBurst)
	case cfg.MaxBodyBytes < 0 || cfg.MaxRecords < 0:
		return nil, errors.New("emulator: max body bytes and max records must not be negative")
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxRecords == 0 {
		cfg.MaxRecords = DefaultMaxRecords
	}
	e := &Emulator{
		cfg:    cfg,
		token:  []byte(cfg.Token),
		signer: optikpi.NewSigner(optikpi.Credentials{Token: cfg.Token, AccountID: cfg.AccountID, WorkspaceID: cfg.WorkspaceID}),
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6f70_7469_6b70_69)),
	}
	for _, k := range optikpi.Kinds() {
		// A second's worth of burst: the guide counts over a window, and
		// a client pacing itself at the limit arrives with some jitter.
		l := k.RateLimit()
		if cfg.RateLimitScale > 0 {
			l *= rate.Limit(cfg.RateLimitScale)
		}
		burst := cmp.Or(cfg.RateLimitBurst, max(int(l), 1))
		e.limiters[k] = rate.NewLimiter(l, burst)
	}
	if cfg.TrackDelay {
		e.delays = new([numKinds]delayHistogram)
	}
	e.SetRateLimit(cfg.RateLimit)
	e.SetRetryAfter(!cfg.NoRetryAfter)
	e.SetFailRate(cfg.FailRate)
	e.SetDropRate(cfg.DropRate)
	e.SetLatency(cfg.Latency)
	return e, nil
}

func isFraction(f float64) bool { return f >= 0 && f <= 1 }

// SetRateLimit turns the guide's rate limits on or off.
func (e *Emulator) SetRateLimit(on bool) { e.rateLimit.Store(on) }

// SetRetryAfter says whether a 429 carries Retry-After; see
// Config.NoRetryAfter.
func (e *Emulator) SetRetryAfter(on bool) { e.noRetryAfter.Store(!on) }

// SetFailRate sets the fraction of requests answered 500 or 503, clamped to
// [0, 1].
func (e *Emulator) SetFailRate(f float64) { e.failRate.Store(math.Float64bits(clampFraction(f))) }

// SetDropRate sets the fraction of requests whose connection is closed
// without an answer, clamped to [0, 1].
func (e *Emulator) SetDropRate(f float64) { e.dropRate.Store(math.Float64bits(clampFraction(f))) }

// SetLatency sets the delay before every ingest request is handled.
func (e *Emulator) SetLatency(d time.Duration) { e.latency.Store(int64(max(d, 0))) }

func clampFraction(f float64) float64 {
	if !(f > 0) { // NaN too
		return 0
	}
	return min(f, 1)
}

// Records returns the accepted records of kind, raw as they arrived, in
// arrival order. The slices are shared: do not modify them. Nil when
// KeepRecords is off.
func (e *Emulator) Records(kind optikpi.Kind) [][]byte {
	if !kind.Valid() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.records[kind]...)
}

// EventIDs returns the id of every accepted record of kind, in arrival
// order: its event_id, or for a record without one (customer profiles,
// extended attributes) the id the emulator answered with. Nil when
// KeepRecords is off.
func (e *Emulator) EventIDs(kind optikpi.Kind) []string {
	if !kind.Valid() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.ids[kind]...)
}

// Reset forgets the accepted records and zeroes the statistics. Faults and
// rate limits stay as they are.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.records {
		e.records[k], e.ids[k] = nil, nil
		e.counters[k].reset()
		if e.delays != nil {
			e.delays[k].reset()
		}
	}
}

// keep records the accepted records of one request.
func (e *Emulator) keep(kind optikpi.Kind, recs []record, ids []string) {
	e.mu.Lock()
	for _, r := range recs {
		e.records[kind] = append(e.records[kind], r.raw)
	}
	e.ids[kind] = append(e.ids[kind], ids...)
	e.mu.Unlock()
}

// draw returns a uniform random number in [0, 1).
func (e *Emulator) draw() float64 {
	e.rngMu.Lock()
	defer e.rngMu.Unlock()
	return e.rng.Float64()
}

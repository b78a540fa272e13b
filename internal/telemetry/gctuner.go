package telemetry

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// DefaultHeapFloor is the heap goal below which the GC tuner raises the GC
// percent while the relay allocates fast (see busy): deposits (about 20 MB
// live) are collected less than half as often as at Go's 100, the
// nine-model mix (30-90 MB live) about as often.
//
// Chosen with relay bench, 1,000,000 records (deposits, or --mix), the
// relay process's CPU per record and peak RSS, configurations alternated
// run by run on the shared 2-CPU VM (its speed drifted 20-50% meanwhile):
//
//	relay bench [--mix] --json F [--relay-env GOGC=200] [--relay-env GOMEMLIMIT=460MiB]
//
// with --relay-env GODEBUG=gctrace=1 --work-dir D for the collections in
// D/relay.log; before (GOGC 100, or 200 under a limit) the build of
// 7739ee0, after this tuner, its floor changed by a measurement-only build
// for 48 and 96 MiB. 460MiB is 90% of the Deployment's 512Mi. Medians of n
// runs, the range in brackets:
//
//	traffic   limit   GC policy        n  CPU-µs/record     peak RSS MiB  GCs
//	deposits  none    GOGC 100         8  4.46 [3.79-5.60]   75 [70-79]   80
//	deposits  none    GOGC 200         5  3.80 [3.36-5.33]   98 [95-104]  38
//	deposits  none    floor 48 MiB     3  3.64 [3.48-4.72]   78 [76-90]
//	deposits  none    floor 64 MiB     8  3.71 [3.44-4.89]   90 [90-92]   35
//	deposits  none    floor 96 MiB     3  3.52 [3.52-3.57]  122 [121-123]
//	deposits  460MiB  GOGC 100         3  5.15 [4.47-5.34]   74 [72-78]
//	deposits  460MiB  GOGC 200         8  3.96 [3.45-4.90]   98 [94-105]  40
//	deposits  460MiB  floor 64 MiB     8  4.12 [3.78-5.66]   92 [90-93]   37
//	mix       none    GOGC 100        14  5.84 [5.09-7.29]  230 [210-241]  33
//	mix       none    GOGC 200         3  5.83 [5.49-6.19]  339 [326-345]
//	mix       none    floor 64 MiB    14  5.80 [5.27-8.47]  227 [203-237]  30
//	mix       none    floor 96 MiB     3  5.82 [5.72-6.78]  219 [218-219]
//	mix       460MiB  GOGC 200         5  5.43 [5.30-5.81]  292 [279-347]  15
//	mix       460MiB  floor 64 MiB     5  5.46 [5.07-5.94]  230 [219-233]  31
//
// The mix with the floor leaned worse in pairs (11 of 14 runs above their
// GOGC 100 pair) but not in medians; one build, tuner on and off (GOGC=100
// set), took 6.98, 6.84, 6.72 against 6.09, 6.70, 8.00: no difference the
// VM's noise lets through, as expected of a live heap that keeps Go's 100.
// So the CPU a higher percent saves is in the collections of a small live
// heap, which a floor saves too, while the mix's larger heap gains nothing
// from 200 but 60-110 MiB. 96 MiB took deposits to 122 MiB for no clear
// gain, too near the 150 MiB that relay bench --records 5000000 must stay
// under: with the 64 MiB floor that took 91.9 and 94.4 MiB at 3.34 and
// 3.74 CPU-µs/record, against 83.3 and 90.5 MiB at 4.02 and 3.87 at GOGC
// 100 (2 pairs).
const DefaultHeapFloor = 64 << 20

// DefaultMaxGCPercent bounds the percent the tuner sets: a live heap that
// grows within one cycle can then take at most this share more memory than
// it had before, however small it was when the percent was set.
const DefaultMaxGCPercent = 400

// goGCPercent is Go's default GC percent, the one in force without GOGC.
const goGCPercent = 100

// ErrGCTunerOption is returned, wrapped, by NewGCTuner for a bad option.
var ErrGCTunerOption = errors.New("telemetry: GC tuner option")

// GCTunerOption configures a GCTuner.
type GCTunerOption func(*GCTuner)

// WithHeapFloor sets the heap goal the tuner keeps the GC from going below,
// in bytes. Default DefaultHeapFloor; it is capped at half the runtime's
// memory limit when there is one.
func WithHeapFloor(bytes uint64) GCTunerOption {
	return func(t *GCTuner) { t.floor = bytes }
}

// WithMaxGCPercent sets the largest GC percent the tuner sets. Default
// DefaultMaxGCPercent; it must be at least Go's 100 and fit the runtime's
// int32, which would wrap a larger one to 0 or off.
func WithMaxGCPercent(percent int) GCTunerOption {
	return func(t *GCTuner) { t.max = percent }
}

// WithBusyAllocRate sets the allocation rate, in bytes a second, from
// which the floor applies: below it the tuner leaves Go's 100. Default the
// floor a second (a collection at least every second at the floor); 0
// applies the floor at any rate.
func WithBusyAllocRate(bytesPerSecond uint64) GCTunerOption {
	return func(t *GCTuner) { t.busyRate = bytesPerSecond; t.busySet = true }
}

// WithGCTunerLogger sets the logger for what the tuner sets. Default none.
func WithGCTunerLogger(l *zap.Logger) GCTunerOption {
	return func(t *GCTuner) { t.logger = l }
}

// WithGCTunerRegisterer registers the tuner's metrics with r. Default none.
func WithGCTunerRegisterer(r prometheus.Registerer) GCTunerOption {
	return func(t *GCTuner) { t.reg = r }
}

// GCTuner keeps the GC's heap goal at or above a floor while the program
// allocates fast (see WithBusyAllocRate and busy): after a collection (see
// gcSentinel for when) it sets the GC percent from the live heap so that
// the next goal is about the floor, never below Go's 100 and never above a
// maximum; below the busy rate it sets Go's 100.
// A small live heap then is collected less often, each collection's fixed
// cost spread over more allocation, while a live heap at or above half the
// floor is left at Go's 100 and its memory at twice what is live. The
// runtime's memory limit, when there is one, still bounds every goal. Go
// has no setting for a minimum heap (golang/go#23044 and #44309 ended in
// GOMEMLIMIT, a maximum), hence this; it sets what GOGC would, so a GOGC
// set by the user must keep it from starting (see TuneGC).
type GCTuner struct {
	floor    uint64
	max      int
	busyRate uint64 // bytes a second; see WithBusyAllocRate
	busySet  bool
	logger   *zap.Logger
	reg      prometheus.Registerer

	percent prometheus.Gauge
	changes prometheus.Counter

	wake    chan struct{}
	quit    chan struct{}
	wg      sync.WaitGroup
	stopped atomic.Bool
	once    sync.Once
	samples []metrics.Sample // the loop's alone: the live heap, the percent in force, bytes allocated
	// The loop's alone: bytes allocated, and when, at the last tune.
	lastAllocs uint64
	lastAt     time.Time
}

// TuneGC starts a GCTuner unless GOGC is set in the environment, which the
// runtime has applied already and which wins; then it returns nil, on which
// Close is a no-op. It logs which it did. The caller must Close the tuner.
func TuneGC(getenv func(string) string, opts ...GCTunerOption) (*GCTuner, error) {
	if v := getenv("GOGC"); v != "" {
		t := &GCTuner{logger: zap.NewNop()} // for the options' logger alone
		for _, o := range opts {
			o(t)
		}
		t.logger.Info("GC percent from GOGC: the GC tuner is off", zap.String("GOGC", v))
		return nil, nil
	}
	return NewGCTuner(opts...)
}

// NewGCTuner validates the options and starts the tuner: a goroutine that
// sets the GC percent after collections, woken by a cleanup on an object
// that a collection frees (see gcSentinel). The GC percent in force is
// assumed to be Go's 100, to which Close returns it.
func NewGCTuner(opts ...GCTunerOption) (*GCTuner, error) {
	t := &GCTuner{floor: DefaultHeapFloor, max: DefaultMaxGCPercent, logger: zap.NewNop()}
	for _, o := range opts {
		o(t)
	}
	switch {
	case t.floor == 0:
		return nil, fmt.Errorf("%w: heap floor 0: want a number of bytes", ErrGCTunerOption)
	case t.max < goGCPercent || t.max > math.MaxInt32:
		return nil, fmt.Errorf("%w: max GC percent %d: want %d to %d", ErrGCTunerOption, t.max, goGCPercent, math.MaxInt32)
	}
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 && t.floor > uint64(limit)/2 {
		t.floor = uint64(limit) / 2 // room above the floor before the limit makes the GC work harder
	}
	t.percent = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Subsystem: "gc_tuner", Name: "percent",
		Help: "The GC percent the GC tuner last set from the live heap (Go's GOGC).",
	})
	t.changes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "gc_tuner", Name: "changes_total",
		Help: "Times the GC tuner changed the GC percent.",
	})
	if err := Register(t.reg, t.percent, t.changes); err != nil {
		return nil, fmt.Errorf("telemetry: GC tuner metrics: %w", err)
	}
	t.percent.Set(goGCPercent)
	if !t.busySet {
		t.busyRate = t.floor
	}
	t.samples = []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/gogc:percent"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(t.samples)
	if t.samples[2].Value.Kind() == metrics.KindUint64 {
		t.lastAllocs = t.samples[2].Value.Uint64()
	}
	t.lastAt = time.Now()
	t.wake = make(chan struct{}, 1)
	t.quit = make(chan struct{})
	t.wg.Add(1)
	go t.loop()
	t.arm()
	t.logger.Info("GC tuner started: the GC percent follows the live heap",
		zap.Uint64("heap_floor_bytes", t.floor),
		zap.Int("min_gc_percent", goGCPercent),
		zap.Int("max_gc_percent", t.max),
		zap.Uint64("busy_alloc_bytes_per_second", t.busyRate))
	return t, nil
}

// gcSentinel is freed by the first collection that marks after it was
// allocated; its pointer keeps it out of the tiny allocator, whose blocks
// are shared and may never be freed. Its cleanup runs once its span is
// swept, somewhere in the next cycle (at the latest when the next
// collection starts, and then the new sentinel, allocated during marking,
// outlives that one). BenchmarkGCSentinelWake, every P allocating on the
// shared 2-CPU VM: cleanups for 41-59% of collections, a median 66-87% of
// the way to the next goal (-benchtime 20000000x -cpu 1,2, 3 runs); with
// a CPU to spare, 75-85% of collections, 40% of the way. So the percent
// follows a steady live heap, and lags one that jumps by a cycle or two,
// DefaultMaxGCPercent and the memory limit bounding what the lag costs.
type gcSentinel struct{ _ *int }

// arm allocates a sentinel whose cleanup wakes the loop and arms the next.
func (t *GCTuner) arm() {
	runtime.AddCleanup(new(gcSentinel), func(t *GCTuner) {
		if t.stopped.Load() {
			return
		}
		select {
		case t.wake <- struct{}{}:
		default: // the loop has a wake-up pending: one tune covers both
		}
		t.arm()
	}, t)
}

func (t *GCTuner) loop() {
	defer t.wg.Done()
	for {
		select {
		case <-t.quit:
			return
		case <-t.wake:
			t.tune()
		}
	}
}

// tune sets the GC percent for the live heap the last collection marked.
func (t *GCTuner) tune() {
	metrics.Read(t.samples)
	for _, s := range t.samples {
		if s.Value.Kind() != metrics.KindUint64 {
			return // not this runtime's metrics: leave the percent as it is
		}
	}
	live := t.samples[0].Value.Uint64()
	p, allocated, elapsed := t.percentFor(live, t.samples[2].Value.Uint64(), time.Now())
	// The percent in force, not the last one set: whatever else set it
	// (a test, another tuner's Close) is corrected by the next tune.
	if int64(t.samples[1].Value.Uint64()) == int64(p) {
		return
	}
	debug.SetGCPercent(p)
	t.percent.Set(float64(p))
	t.changes.Inc()
	// The allocation since the last tune says why a small live heap got
	// Go's 100: the relay allocated below the busy rate.
	t.logger.Debug("GC percent set from the live heap",
		zap.Uint64("live_heap_bytes", live), zap.Int("gc_percent", p),
		zap.Uint64("allocated_bytes", allocated), zap.Duration("allocated_in", elapsed))
}

// percentFor is the percent for a live heap of live bytes when the
// program has allocated allocs bytes in all by now, with what it allocated
// since the last tune and over how long; it starts the next measurement
// there. The difference is modular, and now's monotonic reading makes
// elapsed immune to changes of the wall clock.
func (t *GCTuner) percentFor(live, allocs uint64, now time.Time) (p int, allocated uint64, elapsed time.Duration) {
	allocated, elapsed = allocs-t.lastAllocs, now.Sub(t.lastAt)
	t.lastAllocs, t.lastAt = allocs, now
	if !busy(allocated, elapsed, t.busyRate) {
		return goGCPercent, allocated, elapsed
	}
	return gcPercent(live, t.floor, t.max), allocated, elapsed
}

// busy reports whether allocated bytes in elapsed come to rate a second or
// more: the floor pays only then. A relay draining a backlog of deposits
// allocates some 400 MB a second, and collects a 20 MB live heap about 25
// times a second at Go's 100; the floor halves that. At a steady 5,000
// records a second it allocates about 6 MB a second, collects every few
// seconds, and the floor saved nothing there: relay bench --rate 5000
// took 36.7 CPU-µs/record at 81 MiB with it against 33.1 at 39 MiB
// without (2 interleaved pairs), the larger heap's cache misses costing
// more than the collections it saved. The rate is measured between tunes,
// whatever the percent, so the floor does not turn itself off by making
// collections rarer.
func busy(allocated uint64, elapsed time.Duration, rate uint64) bool {
	return float64(allocated) >= float64(rate)*elapsed.Seconds()
}

// gcPercent is the percent that makes the next heap goal about floor for
// a live heap of live bytes, between Go's 100 and max. The runtime adds
// the percent of stacks and globals to the goal too; they are small here.
func gcPercent(live, floor uint64, max int) int {
	if live == 0 {
		return max
	}
	p := float64(floor)/float64(live)*100 - 100
	switch {
	case p <= goGCPercent:
		return goGCPercent
	case p >= float64(max):
		return max
	}
	return int(p)
}

// Close stops the tuner and returns the GC percent to Go's 100. A nil
// tuner's Close is a no-op; Close may be called more than once.
func (t *GCTuner) Close() {
	if t == nil {
		return
	}
	t.once.Do(func() {
		t.stopped.Store(true)
		close(t.quit)
		t.wg.Wait()
		debug.SetGCPercent(goGCPercent)
		Unregister(t.reg, t.percent, t.changes)
	})
}

package telemetry

import (
	"errors"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestGCPercent(t *testing.T) {
	const floor = 64 << 20
	tests := []struct {
		name string
		live uint64
		max  int
		want int
	}{
		{"nothing marked yet: the most", 0, 400, 400},
		{"a tiny heap: capped at the most", 1 << 20, 400, 400},
		{"a quarter of the floor: the floor", 16 << 20, 400, 300},
		{"a fifth of the floor: the floor", floor / 5, 400, 400},
		{"a third of the floor, rounded down", 20 << 20, 400, 220},
		{"half the floor: Go's", 32 << 20, 400, 100},
		{"above the floor: Go's, not less", 100 << 20, 400, 100},
		{"a lower most", 8 << 20, 150, 150},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gcPercent(tt.live, floor, tt.max); got != tt.want {
				t.Errorf("gcPercent(%d, %d, %d) = %d, want %d", tt.live, floor, tt.max, got, tt.want)
			}
		})
	}
}

func TestNewGCTunerValidates(t *testing.T) {
	tests := []struct {
		name string
		opt  GCTunerOption
	}{
		{"no floor", WithHeapFloor(0)},
		{"a most below Go's 100", WithMaxGCPercent(50)},
		// The runtime's int32 would make these 0 (collect all the time) and off.
		{"a most of 1<<32", WithMaxGCPercent(1 << 32)},
		{"a most beyond int32", WithMaxGCPercent(math.MaxInt32 + 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			tu, err := NewGCTuner(tt.opt, WithGCTunerRegisterer(reg))
			if !errors.Is(err, ErrGCTunerOption) {
				tu.Close()
				t.Fatalf("got error %v, want ErrGCTunerOption", err)
			}
			if mfs, _ := reg.Gather(); len(mfs) != 0 {
				t.Errorf("got %d metrics registered by a tuner that did not start, want 0", len(mfs))
			}
		})
	}
}

// gcPercentNow reads the runtime's GC percent without setting it, which
// would race a running tuner (off, -1, reads as a huge uint64).
func gcPercentNow() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(int64(s[0].Value.Uint64()))
}

// TestGCTunerFollowsLiveHeap: a floor far above this test's live heap
// takes the percent to the most after a collection, and Close returns it to
// Go's 100 and stops following.
func TestGCTunerFollowsLiveHeap(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	reg := prometheus.NewRegistry()
	core, logs := observer.New(zapcore.DebugLevel)
	tu, err := NewGCTuner(WithHeapFloor(1<<40), WithMaxGCPercent(300), WithBusyAllocRate(0),
		WithGCTunerRegisterer(reg), WithGCTunerLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	defer tu.Close()
	// The sentinel's cleanup runs after a collection frees it, on the
	// runtime's cleanup goroutine: wait for it rather than for a time.
	if !waitGCPercent(t, 300) {
		t.Fatalf("GC percent %d after collections, want 300", gcPercentNow())
	}
	s, err := Samples(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := s["optikpi_relay_gc_tuner_percent"]; got != 300 {
		t.Errorf("gc_tuner_percent %v, want 300", got)
	}
	if got := s["optikpi_relay_gc_tuner_changes_total"]; got < 1 {
		t.Errorf("gc_tuner_changes_total %v, want 1 or more", got)
	}
	if n := logs.FilterMessage("GC percent set from the live heap").Len(); n < 1 {
		t.Errorf("got %d log lines saying what was set, want 1 or more", n)
	}

	tu.Close()
	if got := gcPercentNow(); got != 100 {
		t.Errorf("GC percent %d after Close, want Go's 100", got)
	}
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := gcPercentNow(); got != 100 {
		t.Errorf("GC percent %d after Close and collections, want 100: the tuner still runs", got)
	}
	if mfs, _ := reg.Gather(); len(mfs) != 0 {
		t.Errorf("got %d metrics registered after Close, want 0", len(mfs))
	}
	tu.Close() // a second Close is a no-op
}

// TestBusy: the floor applies from the busy rate on, over the time since
// the last tune.
func TestBusy(t *testing.T) {
	tests := []struct {
		name      string
		allocated uint64
		elapsed   time.Duration
		rate      uint64
		want      bool
	}{
		{"a backlog: 400 MB in a second", 400 << 20, time.Second, 64 << 20, true},
		{"exactly the rate", 64 << 20, time.Second, 64 << 20, true},
		{"a steady trickle: 6 MB in a second", 6 << 20, time.Second, 64 << 20, false},
		{"the floor's worth over ten seconds", 64 << 20, 10 * time.Second, 64 << 20, false},
		{"the floor's worth in 100 ms", 64 << 20, 100 * time.Millisecond, 64 << 20, true},
		{"rate 0: always", 0, time.Hour, 0, true},
		{"no time passed", 1, 0, 64 << 20, true},
	}
	for _, tt := range tests {
		if got := busy(tt.allocated, tt.elapsed, tt.rate); got != tt.want {
			t.Errorf("%s: busy(%d, %v, %d) = %v, want %v", tt.name, tt.allocated, tt.elapsed, tt.rate, got, tt.want)
		}
	}
}

// TestGCTunerPercentFor: each tune measures the allocation rate since the
// one before, not since the start: a burst after a long idle is taken for
// idle once and then for busy, and its end for idle at the next tune.
func TestGCTunerPercentFor(t *testing.T) {
	const mb = 1 << 20
	start := time.Now()
	tu := &GCTuner{floor: 64 * mb, max: 400, busyRate: 64 * mb, lastAllocs: math.MaxUint64 - 5*mb, lastAt: start}
	steps := []struct {
		name   string
		allocs uint64 // in all, at after
		after  time.Duration
		want   int
	}{
		{"minutes idle, the counter wrapping, then a burst's first collection", 4 * mb, 2 * time.Minute, goGCPercent},
		{"the burst: 40 MB in 100 ms", 44 * mb, 2*time.Minute + 100*time.Millisecond, 220},
		{"a steady trickle: 6 MB in a second", 50 * mb, 2*time.Minute + 1100*time.Millisecond, goGCPercent},
	}
	for _, st := range steps {
		got, allocated, elapsed := tu.percentFor(20*mb, st.allocs, start.Add(st.after))
		if got != st.want {
			t.Errorf("%s: percent %d (%d bytes in %v), want %d", st.name, got, allocated, elapsed, st.want)
		}
	}
}

// TestGCTunerIdleKeepsGo: collections of a program that allocates below
// the busy rate leave Go's 100, however far the live heap is below the
// floor.
func TestGCTunerIdleKeepsGo(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	reg := prometheus.NewRegistry()
	tu, err := NewGCTuner(WithHeapFloor(1<<40), WithMaxGCPercent(300), WithBusyAllocRate(1<<50),
		WithGCTunerRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	defer tu.Close()
	debug.SetGCPercent(200) // the tuner must set Go's 100 back: proof that it ran
	if !waitGCPercent(t, 100) {
		t.Fatalf("GC percent %d after collections, want Go's 100 below the busy rate", gcPercentNow())
	}
}

// TestGCTunerFloorUnderLimit: a floor is capped at half the memory limit.
func TestGCTunerFloorUnderLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(100 << 20))
	tests := []struct {
		name  string
		floor uint64
		want  uint64
	}{
		{"above half the limit: half", 1 << 30, 50 << 20},
		{"below half the limit: kept", 20 << 20, 20 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			tu, err := NewGCTuner(WithHeapFloor(tt.floor), WithGCTunerLogger(zap.New(core)))
			if err != nil {
				t.Fatal(err)
			}
			tu.Close()
			started := logs.FilterMessageSnippet("GC tuner started").All()
			if len(started) != 1 {
				t.Fatalf("got %d start lines, want 1 (logs: %v)", len(started), logs.All())
			}
			if got := started[0].ContextMap()["heap_floor_bytes"]; got != tt.want {
				t.Errorf("heap floor %v, want %d", got, tt.want)
			}
		})
	}
}

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tests := []struct {
		name      string
		env       map[string]string
		wantTuner bool
		wantLog   string
	}{
		{"GOGC unset: tuned", nil, true, "GC tuner started"},
		{"GOGC wins", map[string]string{"GOGC": "50"}, false, "GC percent from GOGC"},
		{"GOGC=off wins", map[string]string{"GOGC": "off"}, false, "GC percent from GOGC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			tu, err := TuneGC(func(k string) string { return tt.env[k] }, WithGCTunerLogger(zap.New(core)))
			if err != nil {
				t.Fatal(err)
			}
			defer tu.Close() // a nil tuner's too
			if got := tu != nil; got != tt.wantTuner {
				t.Errorf("got a tuner %v, want %v", got, tt.wantTuner)
			}
			if n := logs.FilterMessageSnippet(tt.wantLog).Len(); n != 1 {
				t.Errorf("got %d log lines containing %q, want 1 (logs: %v)", n, tt.wantLog, logs.All())
			}
		})
	}
}

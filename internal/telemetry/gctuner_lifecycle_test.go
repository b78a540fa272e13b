package telemetry

import (
	"errors"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"

	"github.com/prometheus/client_golang/prometheus"
)

// waitGCPercent runs collections until the percent in force is want, and
// reports false if it is not within 30 s: the sentinel's cleanup runs on
// the runtime's cleanup goroutine, late on a busy machine.
func waitGCPercent(t *testing.T, want int) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for gcPercentNow() != want {
		if time.Now().After(deadline) {
			return false
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestGCTunerRestoresAfterOutsideSet: when something else sets the percent
// (another tuner's Close, a test reading it by setting it), the tuner must
// set its own again after the next collections, not trust a cached value.
func TestGCTunerRestoresAfterOutsideSet(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tu, err := NewGCTuner(WithHeapFloor(1<<40), WithMaxGCPercent(300), WithBusyAllocRate(0))
	if err != nil {
		t.Fatal(err)
	}
	defer tu.Close()
	if !waitGCPercent(t, 300) {
		t.Fatalf("GC percent %d, want 300", gcPercentNow())
	}
	debug.SetGCPercent(100) // e.g. a second tuner's Close
	if !waitGCPercent(t, 300) {
		t.Errorf("GC percent %d after collections, want the tuner's 300 back", gcPercentNow())
	}
}

// TestGCTunerCloseEndsChain: Close racing collections (and so cleanups)
// leaves no goroutine, no armed chain that keeps the tuner reachable, and
// Go's 100 in force.
func TestGCTunerCloseEndsChain(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC()
	before := runtime.NumGoroutine()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // collections racing every Close
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
			}
		}
	}()
	var ws []weak.Pointer[GCTuner]
	for range 50 {
		reg := prometheus.NewRegistry()
		tu, err := NewGCTuner(WithHeapFloor(1<<40), WithGCTunerRegisterer(reg))
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
		tu.Close()
		tu.Close()
		ws = append(ws, weak.Make(tu))
	}
	close(stop)
	<-done
	if got := gcPercentNow(); got != 100 {
		t.Errorf("GC percent %d after every Close, want 100", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		alive := 0
		for _, w := range ws {
			if w.Value() != nil {
				alive++
			}
		}
		n := runtime.NumGoroutine()
		if alive == 0 && n <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Close: %d of %d tuners still reachable (a cleanup chain re-armed), goroutines %d, want <= %d", alive, len(ws), n, before)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := gcPercentNow(); got != 100 {
		t.Errorf("GC percent %d after Close and collections, want 100", got)
	}
}

// TestGCTunerTwoOnOneRegistry: a second tuner on the same registry fails
// clearly and registers nothing; after the first's Close one can start.
func TestGCTunerTwoOnOneRegistry(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	reg := prometheus.NewRegistry()
	a, err := NewGCTuner(WithGCTunerRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewGCTuner(WithGCTunerRegisterer(reg))
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		b.Close()
		t.Errorf("second tuner on one registry: error %v, want AlreadyRegisteredError", err)
	}
	a.Close()
	c, err := NewGCTuner(WithGCTunerRegisterer(reg))
	if err != nil {
		t.Fatalf("a tuner after the first's Close: %v", err)
	}
	c.Close()
}

// BenchmarkGCTunerRead is what tune costs per collection when the percent
// does not change: one runtime/metrics read and the arithmetic.
func BenchmarkGCTunerRead(b *testing.B) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	for b.Loop() {
		metrics.Read(s)
		_ = gcPercent(s[0].Value.Uint64(), DefaultHeapFloor, DefaultMaxGCPercent)
	}
}

// BenchmarkSetGCPercent is what a change costs on top.
func BenchmarkSetGCPercent(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	p := 100
	for b.Loop() {
		p ^= 300 ^ 100
		debug.SetGCPercent(p)
	}
}

// BenchmarkGCSentinelWake measures when a sentinel's cleanup, the tuner's
// wake-up, runs: how many collections wake it (wakes/gc) and how far
// towards the next goal the heap has grown by then (cycle-median, 0 just
// after a collection, 1 at the goal). Run it with -cpu 1,2 and with
// another process on the CPUs to see the sweeper's share.
func BenchmarkGCSentinelWake(b *testing.B) {
	var (
		mu    sync.Mutex
		fracs []float64
		stop  atomic.Bool
	)
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	var arm func()
	arm = func() {
		runtime.AddCleanup(new(gcSentinel), func(int) {
			if stop.Load() {
				return
			}
			mu.Lock()
			metrics.Read(samples)
			live, goal, inuse := samples[1].Value.Uint64(), samples[2].Value.Uint64(), samples[3].Value.Uint64()
			fracs = append(fracs, (float64(inuse)-float64(live))/(float64(goal)-float64(live)))
			mu.Unlock()
			arm()
		}, 0)
	}
	keep := make([][]byte, 0, 20<<10) // a live heap for the goals to scale
	for range cap(keep) {
		keep = append(keep, make([]byte, 1024))
	}
	runtime.GC()
	metrics.Read(samples)
	first := samples[0].Value.Uint64()
	arm()
	var sink atomic.Pointer[[]byte]
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := make([]byte, 512)
			sink.Store(&p)
		}
	})
	stop.Store(true)
	mu.Lock()
	defer mu.Unlock()
	metrics.Read(samples)
	gcs := samples[0].Value.Uint64() - first
	runtime.KeepAlive(keep)
	if len(fracs) == 0 || gcs == 0 {
		return // b.N too small for a collection (the first, b.N=1 run)
	}
	sort.Float64s(fracs)
	b.ReportMetric(float64(len(fracs))/float64(gcs), "wakes/gc")
	b.ReportMetric(fracs[len(fracs)/2], "cycle-median")
}

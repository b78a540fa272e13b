package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestCloseStress: many Sends (some with a context that ends while they
// wait for room) race Close, gracefully or abandoning. Every accepted record
// is final exactly once before Close returns, or abandoned (counted); no
// done is called after Close returns or for a refused Send; records_queued
// is never negative while scraped during the race and 0 after; every
// goroutine of the sink has stopped when Close returns.
func TestCloseStress(t *testing.T) {
	for _, tc := range []struct {
		name    string
		abandon time.Duration // Close's context; 0: none
		hammer  bool          // Sends go on after ErrClosed until Close returns
	}{
		{"graceful", 0, false},
		{"abandon", 3 * time.Millisecond, false},
		{"abandon at once", time.Nanosecond, false},
		{"graceful hammered", 0, true},
		{"abandon hammered", 3 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			em, _ := newEmulator(t, nil)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
				em.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			opts := testOptions()
			opts.Linger = time.Millisecond
			opts.BatchSize, opts.InFlight, opts.QueueSize = 4, 3, 6
			opts.Registerer = nil
			base := runtime.NumGoroutine()
			s, err := New([]Destination{{Name: testDest, BaseURL: srv.URL + "/apigw/ingest", AccountID: testAccount, WorkspaceID: testWorkspace, Token: optikpi.StaticToken(testToken)}}, opts)
			if err != nil {
				t.Fatal(err)
			}
			deps := deposits(t, 200)
			var custs []optikpi.Encoded
			for i := range 200 {
				c := customer(t, fmt.Sprintf("u%d", i%37), i)
				if i%3 == 0 { // not Alone: copied under the lane's lock
					c.JSON = append(make([]byte, 0, 2*len(c.JSON)), c.JSON...)
				}
				custs = append(custs, c)
			}

			var (
				accepted, refused, finals, lateFinals atomic.Int64
				closeReturned                         atomic.Bool
				stop                                  = make(chan struct{})
			)
			done := func(called *atomic.Bool) func(*Failure) {
				return func(f *Failure) {
					if called.Swap(true) {
						t.Errorf("done called twice")
					}
					if f != nil {
						t.Errorf("failed: %v", f)
					}
					if closeReturned.Load() {
						lateFinals.Add(1)
					}
					finals.Add(1)
				}
			}
			// Scraper: records_queued never negative.
			var scr sync.WaitGroup
			scr.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					for path, q := range queuedByPath(s) {
						if q < 0 {
							t.Errorf("records_queued %d for %s", q, path)
						}
					}
					runtime.Gosched()
				}
			})
			var wg sync.WaitGroup
			for g := range 12 {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 1))
					for i := g; ; i++ {
						if tc.hammer && closeReturned.Load() {
							return
						}
						rec := deps[i%len(deps)]
						if g%2 == 1 {
							rec = custs[i%len(custs)]
						}
						ctx, cancel := context.Background(), context.CancelFunc(func() {})
						switch rng.IntN(8) {
						case 0:
							ctx, cancel = context.WithCancel(ctx)
							cancel()
						case 1:
							ctx, cancel = context.WithTimeout(ctx, time.Duration(rng.IntN(300))*time.Microsecond)
						}
						called := new(atomic.Bool)
						err := s.Send(ctx, testDest, rec, done(called))
						cancel()
						switch {
						case err == nil:
							accepted.Add(1)
						case errors.Is(err, ErrClosed):
							refused.Add(1)
							if !tc.hammer {
								return
							}
						case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
						default:
							t.Errorf("Send: %v", err)
							return
						}
					}
				})
			}
			for accepted.Load() < 200 {
				time.Sleep(time.Millisecond)
			}
			ctx := context.Background()
			if tc.abandon > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.abandon)
				defer cancel()
			}
			closed := make(chan error, 1)
			start := time.Now()
			go func() { closed <- s.Close(ctx) }()
			select {
			case err = <-closed:
			case <-time.After(waitLimit):
				buf := make([]byte, 1<<20)
				t.Fatalf("Close has not returned after %s\n%s", waitLimit, buf[:runtime.Stack(buf, true)])
			}
			took := time.Since(start)
			finalAtClose := finals.Load()
			closeReturned.Store(true)
			wg.Wait()
			close(stop)
			scr.Wait()
			if err != nil && (tc.abandon == 0 || !strings.Contains(err.Error(), "abandoned")) {
				t.Errorf("Close: %v", err)
			}
			ab := s.abandoned.Load()
			t.Logf("accepted %d, final %d, abandoned %d, refused %d; Close took %s", accepted.Load(), finalAtClose, ab, refused.Load(), took)
			if got, want := finalAtClose+ab, accepted.Load(); got != want {
				t.Errorf("final %d + abandoned %d = %d when Close returned, want the %d accepted", finalAtClose, ab, got, want)
			}
			if n := lateFinals.Load(); n > 0 {
				t.Errorf("%d done calls after Close returned", n)
			}
			for path, q := range queuedByPath(s) {
				if q != 0 {
					t.Errorf("records_queued %d for %s after Close, want 0", q, path)
				}
			}
			// The sink's goroutines are stopped; the client's idle
			// connections' goroutines may take a moment.
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > base+2 {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines after Close, %d before New\n%s", n, base, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// TestRecordsQueuedExposition: records_queued as scraped keeps the old
// gauge's name, type, HELP and labels, one series per endpoint, each 0.
func TestRecordsQueuedExposition(t *testing.T) {
	_, srv := newEmulator(t, nil)
	opts := testOptions()
	newSink(t, srv.URL+"/apigw/ingest", nil, opts)
	mfs, err := opts.Registerer.(prometheus.Gatherer).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "optikpi_relay_sink_records_queued" {
			continue
		}
		if got, want := mf.GetType(), dto.MetricType_GAUGE; got != want {
			t.Errorf("type %v, want %v", got, want)
		}
		if got, want := mf.GetHelp(), "Records accepted by Send and not yet final: queued, batched or in flight."; got != want {
			t.Errorf("help %q, want %q", got, want)
		}
		var names []string
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			names = append(names, strings.Join(ls, ","))
			if m.GetGauge().GetValue() != 0 {
				t.Errorf("%v = %v, want 0", ls, m.GetGauge().GetValue())
			}
		}
		t.Logf("series: %v", names)
		if got, want := len(names), len(optikpi.Kinds()); got != want {
			t.Errorf("%d series, want %d", got, want)
		}
		return
	}
	t.Errorf("no records_queued")
}

// queuedByPath is records_queued of every endpoint, by path.
func queuedByPath(s *Sink) map[string]int64 {
	out := make(map[string]int64)
	for _, ep := range s.metrics.queued.eps {
		out[ep.path] = ep.queued()
	}
	return out
}

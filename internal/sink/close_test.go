package sink

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestSendDuringClose: Sends racing Close each either queue their record,
// which Close then delivers before it returns, or return ErrClosed and never
// call done; none is lost in between, whether the Sends find room in the
// queue or wait for it, and every Send after Close returns ErrClosed.
func TestSendDuringClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		slow time.Duration // per request
	}{
		{"with room", func(*Options) {}, 0},
		{"waiting for room", func(o *Options) { o.BatchSize, o.InFlight, o.QueueSize = 1, 1, 1 }, time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			em, _ := newEmulator(t, nil)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(tc.slow)
				em.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			opts := testOptions()
			opts.Linger = time.Millisecond
			tc.edit(&opts)
			s := newSink(t, srv.URL+"/apigw/ingest", nil, opts)

			recs := deposits(t, 1000)
			var accepted, finals atomic.Int64
			done := func(f *Failure) {
				if f != nil {
					t.Errorf("failed: %v", f)
				}
				finals.Add(1)
			}
			var wg sync.WaitGroup
			for g := range 6 {
				wg.Go(func() {
					for i := g; ; i++ {
						err := s.Send(context.Background(), testDest, recs[i%len(recs)], done)
						if errors.Is(err, ErrClosed) {
							return
						}
						if err != nil {
							t.Errorf("Send: %v", err)
							return
						}
						accepted.Add(1)
					}
				})
			}
			for accepted.Load() < 20 {
				time.Sleep(time.Millisecond)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
			// Close has returned: every record it accepted is final.
			finalAtClose := finals.Load()
			wg.Wait()
			if got, want := finalAtClose, accepted.Load(); got != want {
				t.Errorf("%d records final when Close returned, want every one of the %d accepted", got, want)
			}
			if got := finals.Load(); got != finalAtClose {
				t.Errorf("%d records final after Close returned, want none", got-finalAtClose)
			}
			if err := s.Send(context.Background(), testDest, recs[0], done); !errors.Is(err, ErrClosed) {
				t.Errorf("Send after Close: %v, want ErrClosed", err)
			}
			if got := s.dests[testDest].endpoints[optikpi.KindDeposit].queued(); got != 0 {
				t.Errorf("records_queued %d after Close, want 0", got)
			}
		})
	}
}

// TestCloseWaitsForSend: a Send already past its check that the sink is
// open when Close starts still queues its record, and Close waits for it
// and delivers it. The Send is held inside (the lane's lock, taken to copy
// a record that is not Alone) until Close has started.
func TestCloseWaitsForSend(t *testing.T) {
	_, srv := newEmulator(t, nil)
	s := newSink(t, srv.URL+"/apigw/ingest", nil, testOptions())
	l := s.dests[testDest].endpoints[optikpi.KindDeposit].lanes[0]

	rec := deposits(t, 1)[0]
	rec.JSON = append(make([]byte, 0, 2*len(rec.JSON)), rec.JSON...) // not Alone: copied under l.mu
	l.mu.Lock()
	var finals atomic.Int64
	sent := make(chan error, 1)
	go func() {
		sent <- s.Send(context.Background(), testDest, rec, func(f *Failure) {
			if f != nil {
				t.Errorf("failed: %v", f)
			}
			finals.Add(1)
		})
	}()
	for l.entered.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // past the check, waiting for l.mu

	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	<-s.closing
	time.Sleep(20 * time.Millisecond) // for the batcher to see it
	l.mu.Unlock()

	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	err := <-sent
	switch got := finals.Load(); {
	case err == nil && got != 1:
		t.Errorf("Send returned nil and done was called %d times before Close returned, want once", got)
	case errors.Is(err, ErrClosed) && got != 0:
		t.Errorf("Send returned ErrClosed and done was called %d times, want never", got)
	case err != nil && !errors.Is(err, ErrClosed):
		t.Errorf("Send: %v, want nil or ErrClosed", err)
	}
	t.Logf("Send returned %v", err)
}

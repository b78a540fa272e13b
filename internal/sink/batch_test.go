package sink

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestBatchCloses sends records through one sender and checks the records
// per request: a batch closes at BatchSize, at MaxBatchBytes, when the
// linger timer fires, and on Close.
func TestBatchCloses(t *testing.T) {
	recLen := len(deposit(t, 0, "").JSON)
	big := deposit(t, 1, strings.Repeat("x", 1500))
	perBatch := (1000 - 2 + 1) / (recLen + 1) // records of recLen in a 1000-byte body

	tests := []struct {
		name    string
		edit    func(*Options)
		recs    []optikpi.Encoded
		waitFor int   // records to wait for before Close (0: Close flushes)
		want    []int // records per request, in order
	}{{
		name: "at BatchSize, rest on Close",
		edit: func(o *Options) { o.Linger = time.Hour },
		recs: deposits(t, 1200),
		want: []int{500, 500, 200},
	}, {
		name: "at a smaller BatchSize",
		edit: func(o *Options) { o.Linger, o.BatchSize = time.Hour, 7 },
		recs: deposits(t, 20),
		want: []int{7, 7, 6},
	}, {
		name: "at MaxBatchBytes",
		edit: func(o *Options) { o.Linger, o.MaxBatchBytes = time.Hour, 1000 },
		recs: deposits(t, 3*perBatch+1),
		want: []int{perBatch, perBatch, perBatch, 1},
	}, {
		name:    "at linger",
		edit:    func(o *Options) { o.Linger = 200 * time.Millisecond },
		recs:    deposits(t, 3),
		waitFor: 3,
		want:    []int{3},
	}, {
		name: "a record over MaxBatchBytes goes alone",
		edit: func(o *Options) { o.Linger, o.MaxBatchBytes = time.Hour, 1000 },
		recs: []optikpi.Encoded{deposit(t, 0, ""), big, deposit(t, 2, "")},
		want: []int{1, 1, 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRecorder(t, nil)
			opts := testOptions()
			opts.InFlight = 1 // requests in batch order
			tt.edit(&opts)
			s := newSink(t, srv.URL, nil, opts)
			res := newResults()
			send(t, s, res, tt.recs, eventKey)
			if tt.waitFor > 0 {
				res.wait(t, tt.waitFor)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := srv.sizes(t); !slices.Equal(got, tt.want) {
				t.Errorf("records per request: got %v, want %v", got, tt.want)
			}
			if d, f := res.counts(); d != len(tt.recs) || f != 0 {
				t.Errorf("got %d delivered, %d failed; want %d, 0", d, f, len(tt.recs))
			}
			if opts.MaxBatchBytes > 0 {
				for i, n := range srv.bodyLens() {
					if n > opts.MaxBatchBytes && srv.sizes(t)[i] > 1 {
						t.Errorf("request %d: %d-byte body of several records; want at most %d", i, n, opts.MaxBatchBytes)
					}
				}
			}
		})
	}
}

// TestInFlight counts concurrent requests at the server: never more than
// InFlight per endpoint, for events (shared senders) and state kinds (lanes).
func TestInFlight(t *testing.T) {
	const inFlight = 3
	tests := []struct {
		name     string
		recs     func(t *testing.T) []optikpi.Encoded
		wantFull bool // the limit must be reached
	}{{
		name:     "events",
		recs:     func(t *testing.T) []optikpi.Encoded { return deposits(t, 200) },
		wantFull: true,
	}, {
		name: "customers",
		recs: func(t *testing.T) []optikpi.Encoded {
			var out []optikpi.Encoded
			for seq := range 5 {
				for u := range 40 {
					out = append(out, customer(t, fmt.Sprintf("u%02d", u), seq))
				}
			}
			return out
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *recorder
			srv = newRecorder(t, func(_ int, _ []byte, w http.ResponseWriter) {
				// Hold each request until the limit is reached, or briefly.
				for deadline := time.Now().Add(100 * time.Millisecond); srv.cur.Load() < inFlight && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
				w.Write([]byte(`{}`))
			})
			opts := testOptions()
			opts.InFlight, opts.BatchSize, opts.Linger = inFlight, 10, time.Millisecond
			s := newSink(t, srv.URL, nil, opts)
			res := newResults()
			recs := tt.recs(t)
			send(t, s, res, recs, func(e optikpi.Encoded) string { return string(e.JSON) })
			res.wait(t, len(recs))
			got := srv.max.Load()
			if got > inFlight || (tt.wantFull && got < inFlight) {
				t.Errorf("most concurrent requests: got %d, want at most %d (and %d when full: %v)", got, inFlight, inFlight, tt.wantFull)
			}
			if d, _ := res.counts(); d != len(recs) {
				t.Errorf("delivered %d, want %d", d, len(recs))
			}
		})
	}
}

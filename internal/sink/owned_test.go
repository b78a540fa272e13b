package sink

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestDisownedDropped: a record whose owned turns false is never sent
// again, whether that happens before its first attempt, between the
// client's retries or before the parts of a rejected batch; its done is
// never called, and the other records of its batch are delivered or fail
// as they would without it (defect 7 of issue 10).
func TestDisownedDropped(t *testing.T) {
	tests := []struct {
		name          string
		flipAt        int // the flag turns false as request flipAt arrives; 0: before Send
		reply         func(body []byte, w http.ResponseWriter)
		wantDelivered []string
		wantFailed    []string
	}{{
		name:          "before the first attempt",
		reply:         func([]byte, http.ResponseWriter) {},
		wantDelivered: []string{"evt_000000000", "evt_000000002"},
	}, {
		name:   "between retries",
		flipAt: 1,
		reply: func(body []byte, w http.ResponseWriter) {
			if bytes.Contains(body, []byte("evt_000000001")) {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		},
		wantDelivered: []string{"evt_000000000", "evt_000000002"},
	}, {
		name:   "before the parts of a split",
		flipAt: 1,
		reply: func(body []byte, w http.ResponseWriter) {
			if bytes.Contains(body, []byte("evt_000000000")) {
				writeAPIError(w, http.StatusBadRequest, "[0].amount")
			}
		},
		wantDelivered: []string{"evt_000000002"},
		wantFailed:    []string{"evt_000000000"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var owned atomic.Bool // of records 1 and 3
			owned.Store(tt.flipAt != 0)
			var sentDisowned atomic.Int64 // requests carrying them once disowned
			srv := newRecorder(t, func(n int, body []byte, w http.ResponseWriter) {
				if n > tt.flipAt && (bytes.Contains(body, []byte("evt_000000001")) || bytes.Contains(body, []byte("evt_000000003"))) {
					sentDisowned.Add(1)
				}
				if n == tt.flipAt {
					owned.Store(false)
				}
				tt.reply(body, w)
			})
			opts := testOptions()
			opts.Linger = 100 * time.Millisecond // the four in one batch
			s := newSink(t, srv.URL, nil, opts)
			res := newResults()
			for i, rec := range deposits(t, 4) {
				var err error
				if i%2 == 1 {
					err = s.SendTo(context.Background(), testDest, rec, &funcOwner{owned: owned.Load, done: res.done(rec.EventID)})
				} else {
					err = s.Send(context.Background(), testDest, rec, res.done(rec.EventID))
				}
				if err != nil {
					t.Fatalf("send: %v", err)
				}
			}
			want := len(tt.wantDelivered) + len(tt.wantFailed)
			res.wait(t, want)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			if err := s.Close(ctx); err != nil {
				t.Errorf("Close: %v; want nil (a dropped record is no loss)", err)
			}

			if got := res.calls.Load(); got != int64(want) {
				t.Errorf("done called %d times; want %d (never for the disowned)", got, want)
			}
			res.mu.Lock()
			defer res.mu.Unlock()
			var delivered, failed []string
			for id := range res.delivered {
				delivered = append(delivered, id)
			}
			for id := range res.failures {
				failed = append(failed, id)
			}
			slices.Sort(delivered)
			slices.Sort(failed)
			if !slices.Equal(delivered, tt.wantDelivered) || !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("delivered %v, failed %v; want %v, %v", delivered, failed, tt.wantDelivered, tt.wantFailed)
			}
			if n := sentDisowned.Load(); n > 0 {
				t.Errorf("%d requests carried a record after it was disowned; want 0", n)
			}
		})
	}
}

// funcOwner is an Owner made of an owned func and a done func.
type funcOwner struct {
	owned func() bool
	done  func(*Failure)
}

func (o *funcOwner) Owned() bool                   { return o.owned() }
func (o *funcOwner) Final(f *Failure, _ time.Time) { o.done(f) }

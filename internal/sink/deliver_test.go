package sink

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

// TestRejectedBatchSplit sends a full batch holding bad records: only they
// fail, as "rejected", and the requests needed stay few, whether the API
// names the first bad record, names none, or names the wrong one.
func TestRejectedBatchSplit(t *testing.T) {
	type server func(t *testing.T, bad map[string]bool) (url string, requests func() int64)
	emulated := func(t *testing.T, bad map[string]bool) (string, func() int64) {
		em, srv := newEmulator(t, func(c *emulator.Config) {
			c.Reject = func(_ optikpi.Kind, r optikpi.Record) string {
				if id, _ := r["event_id"].(string); bad[id] {
					return "blocked by the test"
				}
				return ""
			}
		})
		return srv.URL + "/apigw/ingest", func() int64 { return em.Stats().Total().Requests }
	}
	hinting := func(hint func(body []byte) string) server {
		return func(t *testing.T, bad map[string]bool) (string, func() int64) {
			srv := newRecorder(t, func(_ int, body []byte, w http.ResponseWriter) {
				for id := range bad {
					if bytes.Contains(body, []byte(`"`+id+`"`)) {
						writeAPIError(w, http.StatusBadRequest, hint(body))
						return
					}
				}
				w.Write([]byte(`{}`))
			})
			return srv.URL, srv.requests.Load
		}
	}
	noHint := hinting(func([]byte) string { return "" })
	wrongHint := hinting(func([]byte) string { return "[0].amount" })

	tests := []struct {
		name         string
		server       server
		n            int
		bad          []int
		maxRequests  int64
		wantStatus   int
		wantInFailed string
	}{
		{"emulator names the bad record", emulated, 500, []int{137}, 4, 400, "blocked by the test"},
		{"emulator, first and last", emulated, 500, []int{0, 499}, 5, 400, "blocked by the test"},
		{"emulator, three bad", emulated, 500, []int{3, 250, 251}, 9, 400, "blocked by the test"},
		{"no hint: bisection", noHint, 500, []int{137}, 1 + 2*9, 400, "refused"},
		{"no hint, two bad", noHint, 500, []int{10, 400}, 1 + 4*9, 400, "refused"},
		{"wrong hint never fails a good record", wrongHint, 20, []int{13}, 2*20 + 1, 400, "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := deposits(t, tt.n)
			bad := map[string]bool{}
			for _, i := range tt.bad {
				bad[recs[i].EventID] = true
			}
			url, requests := tt.server(t, bad)
			opts := testOptions()
			opts.Linger = time.Hour // one batch of n
			opts.BatchSize = tt.n
			s := newSink(t, url, nil, opts)
			res := newResults()
			send(t, s, res, recs, eventKey)
			res.wait(t, tt.n)

			d, f := res.counts()
			if d != tt.n-len(tt.bad) || f != len(tt.bad) {
				t.Errorf("got %d delivered, %d failed; want %d, %d", d, f, tt.n-len(tt.bad), len(tt.bad))
			}
			for id := range bad {
				got := res.failures[id]
				if got == nil {
					t.Errorf("%s: not failed", id)
					continue
				}
				if got.Reason != failure.Rejected || got.Destination != testDest || got.Endpoint != "/events/deposit" ||
					got.Status != tt.wantStatus || got.Attempts != 1 || !bytes.Contains(got.APIError, []byte(tt.wantInFailed)) ||
					!strings.Contains(got.Error(), tt.wantInFailed) {
					t.Errorf("%s: got %+v (APIError %s), want reason %s, %s /events/deposit, status %d, 1 attempt, %q in the body",
						id, got, got.APIError, failure.Rejected, testDest, tt.wantStatus, tt.wantInFailed)
				}
			}
			if got := requests(); got > tt.maxRequests {
				t.Errorf("requests: got %d, want at most %d", got, tt.maxRequests)
			}
			if got := testutil.ToFloat64(s.metrics.failed.WithLabelValues(testDest, "/events/deposit", string(failure.Rejected))); got != float64(len(tt.bad)) {
				t.Errorf("records_failed_total{reason=rejected}: got %v, want %d", got, len(tt.bad))
			}
			if got := testutil.ToFloat64(s.metrics.delivered.WithLabelValues(testDest, "/events/deposit")); got != float64(d) {
				t.Errorf("records_delivered_total: got %v, want %d", got, d)
			}
		})
	}
}

// TestTooLarge: a record the API answers 413 for alone fails "too_large",
// the others of its batch are delivered; a record beyond the gateway's limit
// fails without a request.
func TestTooLarge(t *testing.T) {
	em, srv := newEmulator(t, func(c *emulator.Config) { c.MaxBodyBytes = 4096 })
	opts := testOptions()
	opts.Linger = 20 * time.Millisecond
	s := newSink(t, srv.URL+"/apigw/ingest", nil, opts)
	res := newResults()

	recs := deposits(t, 6)
	recs[3] = deposit(t, 3, strings.Repeat("x", 5000))
	huge := deposit(t, 99, strings.Repeat("y", MaxRequestBytes))
	send(t, s, res, append(recs, huge), eventKey)
	res.wait(t, len(recs)+1)

	if d, f := res.counts(); d != 5 || f != 2 {
		t.Errorf("got %d delivered, %d failed; want 5, 2", d, f)
	}
	if f := res.failures[recs[3].EventID]; f == nil || f.Reason != failure.TooLarge || f.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("record answered 413 alone: got %+v, want reason %s, status 413", f, failure.TooLarge)
	}
	if f := res.failures[huge.EventID]; f == nil || f.Reason != failure.TooLarge || f.Status != 0 || f.Attempts != 0 {
		t.Errorf("record over %d bytes: got %+v, want reason %s without a request", MaxRequestBytes, f, failure.TooLarge)
	}
	for _, b := range em.Records(optikpi.KindDeposit) {
		if len(b) > 4096 {
			t.Errorf("emulator accepted a %d-byte record", len(b))
		}
	}
}

// TestMisconfigured: a 401 fails nothing; the destination reports itself not
// ready and is probed until the token file is fixed, then delivers all.
func TestMisconfigured(t *testing.T) {
	const wrong = "wrong-token-do-not-log"
	em, srv := newEmulator(t, nil)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Linger = time.Millisecond
	s := newSink(t, srv.URL+"/apigw/ingest", optikpi.NewFileToken(path), opts)
	res := newResults()
	recs := append(deposits(t, 10), customer(t, "u1", 1), customer(t, "u1", 2), customer(t, "u2", 1))
	send(t, s, res, recs, func(e optikpi.Encoded) string { return string(e.JSON) })

	// Probes go on: wait for a few of them, then nothing may be final.
	for deadline := time.Now().Add(waitLimit); em.Stats().Total().Unauthorized < 5; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d requests answered 401, want 5", waitLimit, em.Stats().Total().Unauthorized)
		}
	}
	err := s.Ready()
	if err == nil || !strings.Contains(err.Error(), `"primary"`) || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), wrong) {
		t.Errorf("Ready while the token is wrong: got %v, want an error naming %q and 401, without the token", err, testDest)
	}
	if n := res.calls.Load(); n != 0 {
		t.Errorf("while misconfigured: %d records final, want 0", n)
	}
	if got := testutil.ToFloat64(s.metrics.ready.WithLabelValues(testDest)); got != 0 {
		t.Errorf("destination_ready while misconfigured: got %v, want 0", got)
	}

	if err := os.WriteFile(path, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res.wait(t, len(recs))
	if d, f := res.counts(); d != len(recs) || f != 0 {
		t.Errorf("after the fix: got %d delivered, %d failed; want %d, 0", d, f, len(recs))
	}
	if err := s.Ready(); err != nil {
		t.Errorf("Ready after the fix: %v", err)
	}
	if got := testutil.ToFloat64(s.metrics.ready.WithLabelValues(testDest)); got != 1 {
		t.Errorf("destination_ready after the fix: got %v, want 1", got)
	}
	if got, want := len(em.Records(optikpi.KindDeposit))+len(em.Records(optikpi.KindCustomer)), len(recs); got != want {
		t.Errorf("emulator kept %d records, want %d", got, want)
	}
}

// TestRetried: throttled and transient failures are retried until
// delivered; with MaxAttempts they fail "retries_exhausted".
func TestRetried(t *testing.T) {
	drop := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	tests := []struct {
		name        string
		maxAttempts int
		fail        func(n int, w http.ResponseWriter) bool // answers request n if true
		wantReqs    int64
		wantFailure *Failure
	}{{
		name: "503 twice",
		fail: func(n int, w http.ResponseWriter) bool {
			if n <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return n <= 2
		},
		wantReqs: 3,
	}, {
		name: "429 with Retry-After twice",
		fail: func(n int, w http.ResponseWriter) bool {
			if n <= 2 {
				w.Header().Set("Retry-After", "1") // capped by MaxBackoff
				w.WriteHeader(http.StatusTooManyRequests)
			}
			return n <= 2
		},
		wantReqs: 3,
	}, {
		name: "connection dropped, then 500",
		fail: func(n int, w http.ResponseWriter) bool {
			switch n {
			case 1:
				drop(w)
			case 2:
				w.WriteHeader(http.StatusInternalServerError)
			}
			return n <= 2
		},
		wantReqs: 3,
	}, {
		name:        "503 until MaxAttempts",
		maxAttempts: 3,
		fail: func(n int, w http.ResponseWriter) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		},
		wantReqs:    3,
		wantFailure: &Failure{Reason: failure.RetriesExhausted, Destination: testDest, Endpoint: "/events/deposit", Status: 503, Attempts: 3},
	}, {
		name:        "429 until MaxAttempts",
		maxAttempts: 2,
		fail: func(n int, w http.ResponseWriter) bool {
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		},
		wantReqs:    2,
		wantFailure: &Failure{Reason: failure.RetriesExhausted, Destination: testDest, Endpoint: "/events/deposit", Status: 429, Attempts: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRecorder(t, func(n int, _ []byte, w http.ResponseWriter) {
				if !tt.fail(n, w) {
					w.Write([]byte(`{}`))
				}
			})
			opts := testOptions()
			opts.Linger = time.Millisecond
			opts.Retry.MaxAttempts = tt.maxAttempts
			s := newSink(t, srv.URL, nil, opts)
			res := newResults()
			recs := deposits(t, 3)
			send(t, s, res, recs, eventKey)
			res.wait(t, len(recs))

			if got := srv.requests.Load(); got != tt.wantReqs {
				t.Errorf("requests: got %d, want %d", got, tt.wantReqs)
			}
			d, f := res.counts()
			if tt.wantFailure == nil {
				if d != len(recs) || f != 0 {
					t.Errorf("got %d delivered, %d failed; want %d, 0", d, f, len(recs))
				}
				return
			}
			if d != 0 || f != len(recs) {
				t.Errorf("got %d delivered, %d failed; want 0, %d", d, f, len(recs))
			}
			for id, got := range res.failures {
				w := tt.wantFailure
				if got.Reason != w.Reason || got.Destination != w.Destination || got.Endpoint != w.Endpoint ||
					got.Status != w.Status || got.Attempts != w.Attempts || got.Message == "" {
					t.Errorf("%s: got %+v, want %+v", id, got, w)
				}
			}
		})
	}
}

// TestHealth asks three destinations at once: one healthy, one without a
// health endpoint, one down; the gate stays open for all of them.
func TestHealth(t *testing.T) {
	_, healthy := newEmulator(t, nil)
	missing := newRecorder(t, func(_ int, _ []byte, w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) })
	down := newRecorder(t, func(_ int, _ []byte, w http.ResponseWriter) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"unavailable","message":"maintenance"}`))
	})
	dest := func(name, url string) Destination {
		return Destination{Name: name, BaseURL: url, AccountID: testAccount, WorkspaceID: testWorkspace, Token: optikpi.StaticToken(testToken)}
	}
	s, err := New([]Destination{
		dest("healthy", healthy.URL+"/apigw/ingest"),
		dest("missing", missing.URL),
		dest("down", down.URL),
	}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var got []string
	for _, h := range s.Health(ctx) {
		got = append(got, fmt.Sprintf("%s=%v(err %t)", h.Destination, h.Health, h.Err != nil))
	}
	want := []string{"healthy=ok(err false)", "missing=unknown(err false)", "down=down(err true)"}
	if !slices.Equal(got, want) {
		t.Errorf("Health = %v\nwant %v", got, want)
	}
	if err := s.Ready(); err != nil {
		t.Errorf("Ready after health checks = %v, want nil", err)
	}
}

// TestBatchReusedOnlyWhenFinal catches a batch reused too early: while a
// sender splits a rejected batch around the record the API names, the
// batcher keeps filling batches from the pool for the other sender. Were a
// batch back in the pool before its split parts were delivered, its items
// would be overwritten under the split: records would be delivered twice
// or never, or another record's done would carry the refusal. Each record
// must be final once, the bad ones failed with the API's words about
// themselves, and the API must hold exactly the good records' bytes.
func TestBatchReusedOnlyWhenFinal(t *testing.T) {
	const n = 3000
	recs := deposits(t, n)
	bad := map[string]bool{}
	for i := 5; i < n; i += 41 {
		bad[recs[i].EventID] = true
	}
	em, srv := newEmulator(t, func(c *emulator.Config) {
		c.Reject = func(_ optikpi.Kind, r optikpi.Record) string {
			if id, _ := r["event_id"].(string); bad[id] {
				time.Sleep(2 * time.Millisecond) // the split takes a while
				return "blocked record " + id
			}
			return ""
		}
	})
	opts := testOptions()
	opts.BatchSize = 50
	opts.InFlight = 2
	opts.Linger = time.Millisecond
	s := newSink(t, srv.URL+"/apigw/ingest", nil, opts)
	res := newResults()
	send(t, s, res, recs, eventKey)
	res.wait(t, n)

	res.mu.Lock()
	defer res.mu.Unlock()
	if got := res.calls.Load(); got != n {
		t.Errorf("done called %d times; want %d", got, n)
	}
	for _, r := range recs {
		id := r.EventID
		d, f := res.delivered[id], res.failures[id]
		switch {
		case bad[id] && (d != 0 || f == nil):
			t.Errorf("%s (bad): delivered %d times, failure %v; want failed once", id, d, f)
		case bad[id] && !bytes.Contains(f.APIError, []byte("blocked record "+id+`"`)):
			t.Errorf("%s: failed with the API's answer %s; want the one about itself", id, f.APIError)
		case !bad[id] && (d != 1 || f != nil):
			t.Errorf("%s (good): delivered %d times, failure %v; want delivered once", id, d, f)
		}
	}
	want := map[string]int{}
	for _, r := range recs {
		if !bad[r.EventID] {
			want[string(r.JSON)]++
		}
	}
	for _, b := range em.Records(optikpi.KindDeposit) {
		if want[string(b)]--; want[string(b)] < 0 {
			t.Errorf("the API got %s once too often", b)
		}
	}
	for b, left := range want {
		if left > 0 {
			t.Errorf("the API never got %s", b)
		}
	}
}

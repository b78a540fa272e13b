package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

const (
	testToken     = "s3cret-test-token"
	testAccount   = "acc_test"
	testWorkspace = "ws_test"
	testDest      = "primary"
	// waitLimit only guards against a hang; no test expects to come near it.
	waitLimit = 20 * time.Second
)

// testOptions are fast options for tests: no rate limit, quick retries.
func testOptions() Options {
	limits := make(map[optikpi.Kind]rate.Limit)
	for _, k := range optikpi.Kinds() {
		limits[k] = rate.Inf
	}
	return Options{
		RateLimits:         limits,
		Retry:              optikpi.RetryPolicy{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond},
		MisconfiguredRetry: 20 * time.Millisecond,
		RequestTimeout:     10 * time.Second,
		Registerer:         prometheus.NewRegistry(),
	}
}

// newSink starts a sink with one destination at baseURL; the test's cleanup
// closes it.
func newSink(t testing.TB, baseURL string, token optikpi.TokenSource, opts Options) *Sink {
	t.Helper()
	if token == nil {
		token = optikpi.StaticToken(testToken)
	}
	s, err := New([]Destination{{Name: testDest, BaseURL: baseURL, AccountID: testAccount, WorkspaceID: testWorkspace, Token: token}}, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// results collects the outcomes of the records sent.
type results struct {
	mu        sync.Mutex
	delivered map[string]int      // by event id or user/seq key
	failures  map[string]*Failure // by the same key
	calls     atomic.Int64
	changed   chan struct{}
}

func newResults() *results {
	return &results{delivered: map[string]int{}, failures: map[string]*Failure{}, changed: make(chan struct{}, 1)}
}

// done returns the callback of the record named key.
func (r *results) done(key string) func(*Failure) {
	return func(f *Failure) {
		r.mu.Lock()
		if f == nil {
			r.delivered[key]++
		} else {
			r.failures[key] = f
		}
		r.mu.Unlock()
		r.calls.Add(1)
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

// wait blocks until n callbacks were made.
func (r *results) wait(t testing.TB, n int) {
	t.Helper()
	deadline := time.After(waitLimit)
	for r.calls.Load() < int64(n) {
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("after %s: %d of %d records final", waitLimit, r.calls.Load(), n)
		}
	}
}

func (r *results) counts() (delivered, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.delivered {
		delivered += n
	}
	return delivered, len(r.failures)
}

// send queues recs with the given keys, failing the test on an error.
func send(t testing.TB, s *Sink, r *results, recs []optikpi.Encoded, key func(optikpi.Encoded) string) {
	t.Helper()
	for _, rec := range recs {
		if err := s.Send(context.Background(), testDest, rec, r.done(key(rec))); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
}

func eventKey(e optikpi.Encoded) string { return e.EventID }

func encode(t testing.TB, k optikpi.Kind, r optikpi.Record) optikpi.Encoded {
	t.Helper()
	e, err := optikpi.Encode(k, r, optikpi.ValidateOptions{})
	if err != nil {
		t.Fatalf("encode %v: %v", k, err)
	}
	return e
}

// deposits returns n valid deposits, all of the same length, event ids
// "evt_000000000" on.
func deposits(t testing.TB, n int) []optikpi.Encoded {
	out := make([]optikpi.Encoded, n)
	for i := range out {
		out[i] = deposit(t, i, "")
	}
	return out
}

// deposit returns deposit i; pad lengthens its provider name.
func deposit(t testing.TB, i int, pad string) optikpi.Encoded {
	return encode(t, optikpi.KindDeposit, optikpi.Record{
		"account_id":            testAccount,
		"workspace_id":          testWorkspace,
		"user_id":               fmt.Sprintf("user%04d", i%97),
		"event_category":        "Deposit",
		"event_name":            "Successful Deposit",
		"event_id":              fmt.Sprintf("evt_%09d", i),
		"event_time":            "2024-01-15T14:45:00Z",
		"amount":                json.Number(strconv.Itoa(10 + i%90)),
		"payment_method":        "credit_card",
		"transaction_id":        fmt.Sprintf("txn_%09d", i),
		"payment_provider_name": "Chase Bank" + pad,
	})
}

// customer returns the seq-th profile update of user, seq in custom_data.
func customer(t testing.TB, user string, seq int) optikpi.Encoded {
	return encode(t, optikpi.KindCustomer, optikpi.Record{
		"account_id":         testAccount,
		"workspace_id":       testWorkspace,
		"user_id":            user,
		"creation_timestamp": "2024-01-15T14:45:00Z",
		"custom_data":        map[string]any{"seq": json.Number(strconv.Itoa(seq))},
	})
}

// newEmulator starts a validating emulator with the test credentials.
func newEmulator(t testing.TB, edit func(*emulator.Config)) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	cfg := emulator.DefaultConfig()
	cfg.Token, cfg.AccountID, cfg.WorkspaceID = testToken, testAccount, testWorkspace
	if edit != nil {
		edit(&cfg)
	}
	em, err := emulator.New(cfg)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	srv := httptest.NewServer(em)
	t.Cleanup(srv.Close)
	return em, srv
}

// recorder is an httptest server that keeps every request body and answers
// as reply says (nil: 200 with an empty success body).
type recorder struct {
	*httptest.Server
	reply func(n int, body []byte, w http.ResponseWriter) // n counts requests from 1

	mu     sync.Mutex
	bodies [][]byte

	requests, cur, max atomic.Int64
}

func newRecorder(t testing.TB, reply func(n int, body []byte, w http.ResponseWriter)) *recorder {
	rec := &recorder{reply: reply}
	rec.Server = httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) serve(w http.ResponseWriter, r *http.Request) {
	c := rec.cur.Add(1)
	defer rec.cur.Add(-1)
	for m := rec.max.Load(); c > m && !rec.max.CompareAndSwap(m, c); m = rec.max.Load() {
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	n := int(rec.requests.Add(1))
	rec.mu.Lock()
	rec.bodies = append(rec.bodies, body)
	rec.mu.Unlock()
	if rec.reply != nil {
		rec.reply(n, body, w)
		return
	}
	w.Write([]byte(`{"message":"ok","recordIds":[],"count":0}`))
}

// sizes returns the records per request, in arrival order.
func (rec *recorder) sizes(t testing.TB) []int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]int, len(rec.bodies))
	for i, b := range rec.bodies {
		var arr []json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil {
			t.Fatalf("request %d: body is not a JSON array: %v", i, err)
		}
		out[i] = len(arr)
	}
	return out
}

func (rec *recorder) bodyLens() []int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := make([]int, len(rec.bodies))
	for i, b := range rec.bodies {
		out[i] = len(b)
	}
	return out
}

func writeAPIError(w http.ResponseWriter, status int, field string) {
	w.WriteHeader(status)
	if field == "" {
		fmt.Fprintf(w, `{"error":"Bad Request","message":"refused"}`)
		return
	}
	fmt.Fprintf(w, `{"error":"Bad Request","message":"refused","details":{"field":%q,"issue":"refused"}}`, field)
}

package sink

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// TestRateLimitWaitCounted: requests paced by an endpoint's rate limiter
// add their waits to rate_limit_wait_seconds_total of that endpoint only.
func TestRateLimitWaitCounted(t *testing.T) {
	_, srv := newEmulator(t, nil)
	opts := testOptions()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	opts.BatchSize = 1
	opts.InFlight = 4
	// 4 requests queued at once at 5/s with a burst of 1: they start at
	// 0, 200, 400 and 600 ms, so the waits add up to about 1.2 s; the
	// first waits nothing, however slow the machine.
	opts.RateLimits[optikpi.KindDeposit] = rate.Limit(5)
	opts.Linger = time.Millisecond
	s := newSink(t, srv.URL+"/apigw/ingest", nil, opts)
	r := newResults()
	send(t, s, r, deposits(t, 4), eventKey)
	r.wait(t, 4)

	got, err := telemetry.Samples(reg)
	if err != nil {
		t.Fatal(err)
	}
	const series = `optikpi_relay_sink_rate_limit_wait_seconds_total{destination="primary",endpoint="/events/deposit"}`
	if v := got[series]; v < 0.5 {
		t.Errorf("%s = %v; want at least 0.5 (4 requests at 5/s)", series, v)
	}
	const other = `optikpi_relay_sink_rate_limit_wait_seconds_total{destination="primary",endpoint="/customers"}`
	if v, ok := got[other]; !ok || v != 0 {
		t.Errorf("%s = %v (present %v); want 0", other, v, ok)
	}
}

// TestRecordsQueued: records_queued counts the records Send accepted that
// are not final yet, queued or in flight, for their endpoint only, and is
// back at zero once they are final.
func TestRecordsQueued(t *testing.T) {
	const n = 7
	em, _ := newEmulator(t, nil)
	gate := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-gate
		em.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	opts := testOptions()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	opts.Linger = time.Millisecond
	s := newSink(t, srv.URL+"/apigw/ingest", nil, opts)
	const (
		series = `optikpi_relay_sink_records_queued{destination="primary",endpoint="/events/deposit"}`
		other  = `optikpi_relay_sink_records_queued{destination="primary",endpoint="/customers"}`
	)
	queued := func() (deposits, customers float64) {
		t.Helper()
		got, err := telemetry.Samples(reg)
		if err != nil {
			t.Fatal(err)
		}
		c, ok := got[other]
		if !ok {
			t.Fatalf("%s missing", other)
		}
		return got[series], c
	}
	if d, c := queued(); d != 0 || c != 0 {
		t.Errorf("before Send: deposits %v, customers %v queued; want 0 and 0", d, c)
	}

	r := newResults()
	func() {
		defer close(gate) // the endpoint answers once the count is read
		send(t, s, r, deposits(t, n), eventKey)
		if d, c := queued(); d != n || c != 0 {
			t.Errorf("while in flight: deposits %v, customers %v queued; want %d and 0", d, c, n)
		}
	}()
	r.wait(t, n)
	if d, c := queued(); d != 0 || c != 0 {
		t.Errorf("once final: deposits %v, customers %v queued; want 0 and 0", d, c)
	}
}

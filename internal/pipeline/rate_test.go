package pipeline_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// Three relays in one group share the API's limit: with the emulator
// enforcing the guide's 50 requests per second on /customers, one request
// per record, none is throttled while all three are members; once two
// leave, the last takes the whole limit.
func TestGroupSharesRateLimit(t *testing.T) {
	h := newHarness(t, 6, nil) // the emulators enforce the guide's limits
	h.cfg.Sink.BatchSize = 1   // one request per record, so the limit binds
	limit := float64(optikpi.KindCustomer.RateLimit())
	if got := h.cfg.Sink.RateLimits["customer"]; got != 0 && got != limit {
		t.Fatalf("the example configuration limits customers to %v; the test wants the guide's %v", got, limit)
	}
	em := h.emus.ByName["main"]
	base := firstLine(t, "../../testdata/events/players.jsonl")
	var seq int
	profiles := func(n int) {
		t.Helper()
		events := make([]gen.Event, 0, n)
		for i := range n {
			seq++
			events = append(events, profileUpdate(t, base, fmt.Sprintf("rate%03d", i%60), seq))
		}
		h.produceEvents(events)
	}
	const series = `optikpi_relay_sink_rate_limit_requests_per_second{destination="main",endpoint="/customers"}`
	const throttledSeries = `optikpi_relay_sink_requests_total{destination="main",endpoint="/customers",outcome="throttled"}`
	type member struct {
		r   *relay
		reg *prometheus.Registry
	}
	value := func(m member, name string) float64 {
		s, err := telemetry.Samples(m.reg)
		if err != nil {
			t.Fatal(err)
		}
		return s[name]
	}
	waitShares := func(ms []member, want float64) {
		t.Helper()
		waitFor(t, fmt.Sprintf("every relay's share to be %.2f req/s", want), func() (bool, string) {
			var got []float64
			ok := true
			for _, m := range ms {
				v := value(m, series)
				got = append(got, v)
				ok = ok && v == want
			}
			return ok, fmt.Sprint(got)
		})
	}
	waitAccepted := func(n int64) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d profiles at Optikpi", n), func() (bool, string) {
			got := em.Stats().Endpoints["/customers"].RecordsAccepted
			return got >= n, fmt.Sprint(got)
		})
	}

	var ms []member
	for range 3 {
		reg := prometheus.NewRegistry()
		ms = append(ms, member{h.startWith(pipeline.Options{Registerer: reg}), reg})
	}
	waitShares(ms, limit/3)
	em.Reset()
	const n3 = 300 // 6s at the limit; three whole limits would be throttled within a second
	start := time.Now()
	profiles(n3)
	waitAccepted(n3)
	elapsed3 := time.Since(start)
	st := em.Stats().Endpoints["/customers"]
	var relayThrottled float64
	for _, m := range ms {
		relayThrottled += value(m, throttledSeries)
	}
	t.Logf("3 members: share %.2f req/s each; %d profiles in %v (%.1f req/s); emulator: %d requests, %d answered 429; relays counted %v throttled",
		limit/3, n3, elapsed3.Round(time.Millisecond), float64(st.Requests)/elapsed3.Seconds(), st.Requests, st.Throttled, relayThrottled)
	if st.Throttled != 0 || relayThrottled != 0 {
		t.Errorf("with three members: %d requests answered 429 (relays counted %v); want 0", st.Throttled, relayThrottled)
	}

	for _, m := range ms[1:] {
		m.r.stop(t)
	}
	last := ms[:1]
	waitShares(last, limit)
	em.Reset()
	const n1 = 200
	start = time.Now()
	profiles(n1)
	waitAccepted(n1)
	elapsed1 := time.Since(start)
	st = em.Stats().Endpoints["/customers"]
	rate1 := float64(st.Requests) / elapsed1.Seconds()
	t.Logf("1 member: share %.2f req/s; %d profiles in %v (%.1f req/s); emulator: %d requests, %d answered 429",
		value(last[0], series), n1, elapsed1.Round(time.Millisecond), rate1, st.Requests, st.Throttled)
	if st.Throttled != 0 {
		t.Errorf("with one member: %d requests answered 429; want 0", st.Throttled)
	}
	// Only a bound that a loaded machine still meets: more than a third's
	// share shows the last member took the others' shares.
	if rate1 <= limit/3 {
		t.Errorf("with one member: %.1f req/s; want more than a third of the limit, %.1f", rate1, limit/3)
	}
	h.waitCommitted()
	last[0].r.stop(t)
}

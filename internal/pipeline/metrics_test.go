package pipeline_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// The series the README and the alerts rely on exist and count what
// happened, and a graceful shutdown takes back what the parts registered.
func TestMetrics(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.produce(2000, 7)
	reg := prometheus.NewRegistry()
	r := h.startWith(pipeline.Options{Registerer: reg})
	h.waitCommitted()

	values := gather(t, reg)
	st := r.p.Stats()
	for _, c := range []struct {
		series string
		want   float64 // -1: present, any value
	}{
		{`optikpi_relay_consumer_records_consumed_total`, float64(len(h.expect))},
		{`optikpi_relay_end_to_end_latency_seconds{outcome="delivered"}`, -1},
		{`optikpi_relay_records_total{model="deposit",outcome="delivered",reason=""}`, float64(st.Delivered[kindOf(t, "deposit")])},
		{`optikpi_relay_dlq_records_written_total{reason="unparseable"}`, float64(st.DeadLettered["unparseable"])},
		{`optikpi_relay_consumer_records_done_total`, float64(len(h.expect))},
		{`optikpi_relay_consumer_lag`, 0},
		{`optikpi_relay_sink_destination_ready{destination="main"}`, 1},
		{`optikpi_relay_sink_records_delivered_total{destination="main",endpoint="/events/deposit"}`, float64(st.Delivered[kindOf(t, "deposit")])},
		{`optikpi_relay_sink_requests_total{destination="main",endpoint="/events/deposit",outcome="delivered"}`, -1},
		{`optikpi_relay_kafka_connects_total{client_id="optikpi-relay",node_id="0"}`, -1},
	} {
		got, ok := values[c.series]
		switch {
		case !ok:
			t.Errorf("%s: missing", c.series)
		case c.want >= 0 && got != c.want:
			t.Errorf("%s = %v; want %v", c.series, got, c.want)
		case c.want < 0 && got <= 0:
			t.Errorf("%s = %v; want > 0", c.series, got)
		}
	}

	// Every record acknowledged is observed once in the end-to-end latency.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "optikpi_relay_end_to_end_latency_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			want := st.TotalDelivered()
			if m.GetLabel()[0].GetValue() == "dead_lettered" {
				want = st.TotalDeadLettered()
			}
			if got := m.GetHistogram().GetSampleCount(); got != uint64(want) {
				t.Errorf("end-to-end latency %s: %d observations; want %d", m.GetLabel()[0].GetValue(), got, want)
			}
		}
	}
	// The final outcomes sum to the records finished, nothing counted twice.
	var finished float64
	for series, v := range values {
		if strings.HasPrefix(series, "optikpi_relay_records_total{") {
			finished += v
		}
	}
	if finished != float64(len(h.expect)) {
		t.Errorf("sum of optikpi_relay_records_total = %v; want %d", finished, len(h.expect))
	}
	r.stop(t)
	// A new pipeline could now register on the same registry.
	for series := range gather(t, reg) {
		t.Errorf("%s still registered after Shutdown", series)
		break
	}
}

func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	out, err := telemetry.Samples(reg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kindOf(t *testing.T, name string) optikpi.Kind {
	t.Helper()
	k, err := optikpi.ParseKind(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

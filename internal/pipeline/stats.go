package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// counters are the pipeline's outcome counts: read by Stats and, as the
// same numbers, by Prometheus.
type counters struct {
	consumed atomic.Int64
	skipped  atomic.Int64
	// fannedOut counts the outputs of fanned-out records beyond each
	// record's first: delivered and dlq count outputs, so that this is
	// what they hold more than records.
	fannedOut atomic.Int64
	delivered [optikpi.KindSystemEvent + 1]atomic.Int64
	dlq       []atomic.Int64 // by index in failure.Reasons(); last: a reason this build does not know

	recordsDesc *prometheus.Desc
	fanoutDesc  *prometheus.Desc
	latency     *prometheus.HistogramVec // by final outcome: delivered, dead_lettered
	// latency's children, resolved once: finished runs for every record.
	latencyDelivered, latencyDeadLettered prometheus.Observer
}

func newCounters() *counters {
	c := &counters{
		dlq: make([]atomic.Int64, len(failure.Reasons())+1),
		recordsDesc: prometheus.NewDesc(
			telemetry.Namespace+"_records_total",
			"Records finished, by final outcome (delivered, dead_lettered, skipped); a record fanned out to several outputs counts once per output, so a sum over outcome is every record finished plus optikpi_relay_fanout_extra_outputs_total. Records fetched are optikpi_relay_consumer_records_consumed_total.",
			[]string{"outcome", "model", "reason"}, nil),
		fanoutDesc: prometheus.NewDesc(
			telemetry.Namespace+"_fanout_extra_outputs_total",
			"Outputs of fanned-out records beyond each record's first: what optikpi_relay_records_total counts more than records.",
			nil, nil),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: telemetry.Namespace, Name: "end_to_end_latency_seconds",
			Help: "From the Kafka record's timestamp to its acknowledgement by Optikpi (outcome=delivered) or by the dead-letter topic (outcome=dead_lettered).",
			// From a healthy relay's linger and request (sub-second) to a
			// backlog drained after an outage (an hour).
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600},
		}, []string{"outcome"}),
	}
	// Both exist at zero.
	c.latencyDelivered = c.latency.WithLabelValues("delivered")
	c.latencyDeadLettered = c.latency.WithLabelValues("dead_lettered")
	return c
}

// finished observes into latency, the child of the record's final outcome,
// the end-to-end latency of a record acknowledged at the time at. Records
// without a timestamp (-1 on the wire) are not observed; a producer clock
// ahead of ours counts as 0.
func finished(latency prometheus.Observer, ts, at time.Time) {
	if ts.UnixMilli() <= 0 {
		return
	}
	latency.Observe(max(0, at.Sub(ts).Seconds()))
}

func (c *counters) deadLettered(r failure.Reason) *atomic.Int64 {
	for i, known := range failure.Reasons() {
		if known == r {
			return &c.dlq[i]
		}
	}
	return &c.dlq[len(failure.Reasons())]
}

// Describe implements prometheus.Collector.
func (c *counters) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.recordsDesc
	ch <- c.fanoutDesc
	c.latency.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *counters) Collect(ch chan<- prometheus.Metric) {
	emit := func(v int64, outcome, model, reason string) {
		ch <- prometheus.MustNewConstMetric(c.recordsDesc, prometheus.CounterValue, float64(v), outcome, model, reason)
	}
	emit(c.skipped.Load(), "skipped", "", "")
	ch <- prometheus.MustNewConstMetric(c.fanoutDesc, prometheus.CounterValue, float64(c.fannedOut.Load()))
	for _, k := range optikpi.Kinds() {
		emit(c.delivered[k].Load(), "delivered", k.String(), "")
	}
	for i, r := range failure.Reasons() {
		emit(c.dlq[i].Load(), "dead_lettered", "", string(r))
	}
	emit(c.dlq[len(failure.Reasons())].Load(), "dead_lettered", "", "other")
	c.latency.Collect(ch)
}

// Stats are the pipeline's outcome counts since it started.
type Stats struct {
	Consumed int64
	Skipped  int64
	// FannedOut counts the outputs of fanned-out records beyond each
	// record's first; Delivered and DeadLettered count outputs.
	FannedOut    int64
	Delivered    map[optikpi.Kind]int64
	DeadLettered map[failure.Reason]int64
}

// Done returns how many records reached a final outcome: the outputs
// finished less FannedOut, which counts a fanned-out record's extra outputs
// as soon as it is mapped, so Done lags (never leads) while its outputs are
// under way, and equals Consumed once everything consumed is finished.
func (s Stats) Done() int64 {
	n := s.Skipped - s.FannedOut
	for _, v := range s.Delivered {
		n += v
	}
	for _, v := range s.DeadLettered {
		n += v
	}
	return n
}

// TotalDelivered sums Delivered.
func (s Stats) TotalDelivered() int64 {
	var n int64
	for _, v := range s.Delivered {
		n += v
	}
	return n
}

// TotalDeadLettered sums DeadLettered.
func (s Stats) TotalDeadLettered() int64 {
	var n int64
	for _, v := range s.DeadLettered {
		n += v
	}
	return n
}

// Stats returns a snapshot of the outcome counts.
func (p *Pipeline) Stats() Stats {
	c := p.counts
	s := Stats{
		Consumed:     c.consumed.Load(),
		Skipped:      c.skipped.Load(),
		FannedOut:    c.fannedOut.Load(),
		Delivered:    make(map[optikpi.Kind]int64),
		DeadLettered: make(map[failure.Reason]int64),
	}
	for _, k := range optikpi.Kinds() {
		if v := c.delivered[k].Load(); v > 0 {
			s.Delivered[k] = v
		}
	}
	for i, r := range failure.Reasons() {
		if v := c.dlq[i].Load(); v > 0 {
			s.DeadLettered[r] = v
		}
	}
	if v := c.dlq[len(failure.Reasons())].Load(); v > 0 {
		s.DeadLettered["other"] = v
	}
	return s
}

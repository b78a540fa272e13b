package sink

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/telemetry"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

const (
	namespace = telemetry.Namespace
	subsystem = "sink"
)

type metrics struct {
	delivered    *prometheus.CounterVec
	failed       *prometheus.CounterVec
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	batchRecords *prometheus.HistogramVec
	batchBytes   *prometheus.HistogramVec
	inFlight     *prometheus.GaugeVec
	queued       *queuedGauge
	ready        *prometheus.GaugeVec
	rateWait     *prometheus.CounterVec
}

// endpointMetrics are one destination+endpoint's series, looked up once.
type endpointMetrics struct {
	delivered    prometheus.Counter
	failed       map[failure.Reason]prometheus.Counter
	requests     [optikpi.Transient + 1]prometheus.Counter
	duration     prometheus.Observer
	batchRecords prometheus.Observer
	batchBytes   prometheus.Observer
	inFlight     prometheus.Gauge
	rateWait     prometheus.Counter
}

func newMetrics() *metrics {
	labels := []string{"destination", "endpoint"}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: namespace, Subsystem: subsystem, Name: name, Help: help}
	}
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: subsystem, Name: name, Help: help, Buckets: buckets,
		}, labels)
	}
	return &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts(opts("records_delivered_total",
			"Records Optikpi acknowledged.")), labels),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts(opts("records_failed_total",
			"Records that failed for good, by reason (rejected, too_large, retries_exhausted).")),
			append(labels, "reason")),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts(opts("requests_total",
			"HTTP attempts, retries included, by outcome (delivered, rejected, misconfigured, throttled, transient).")),
			append(labels, "outcome")),
		duration: hist("request_duration_seconds", "Duration of HTTP attempts, until the response headers.",
			[]float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}),
		batchRecords: hist("batch_records", "Records per request body, split batches included.",
			[]float64{1, 5, 10, 25, 50, 100, 250, 500}),
		batchBytes: hist("batch_bytes", "Bytes per request body.",
			prometheus.ExponentialBuckets(1<<10, 4, 8)), // 1 KiB to 16 MiB
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("requests_in_flight",
			"Requests being sent, their retries and backoffs included.")), labels),
		queued: &queuedGauge{desc: prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, "records_queued"),
			"Records accepted by Send and not yet final: queued, batched or in flight.", labels, nil)},
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("destination_ready",
			"1 while the destination accepts requests, 0 while it is misconfigured (401, 403, 404, or a 4xx that is not the API's answer).")),
			[]string{"destination"}),
		rateWait: prometheus.NewCounterVec(prometheus.CounterOpts(opts("rate_limit_wait_seconds_total",
			"Time HTTP attempts spent waiting on the endpoint's rate limiter before being sent; its rate against the number of senders shows how much of the time pacing takes.")), labels),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.delivered, m.failed, m.requests, m.duration, m.batchRecords, m.batchBytes, m.inFlight, m.queued, m.ready, m.rateWait}
}

// endpoint creates the series of an endpoint, so that they exist at zero
// before anything happens.
func (m *metrics) endpoint(dest, path string) endpointMetrics {
	em := endpointMetrics{
		delivered:    m.delivered.WithLabelValues(dest, path),
		failed:       make(map[failure.Reason]prometheus.Counter, 3),
		duration:     m.duration.WithLabelValues(dest, path),
		batchRecords: m.batchRecords.WithLabelValues(dest, path),
		batchBytes:   m.batchBytes.WithLabelValues(dest, path),
		inFlight:     m.inFlight.WithLabelValues(dest, path),
		rateWait:     m.rateWait.WithLabelValues(dest, path),
	}
	for _, r := range []failure.Reason{failure.Rejected, failure.TooLarge, failure.RetriesExhausted} {
		em.failed[r] = m.failed.WithLabelValues(dest, path, string(r))
	}
	for c := range em.requests {
		em.requests[c] = m.requests.WithLabelValues(dest, path, optikpi.Class(c).String())
	}
	return em
}

func (m *metrics) register(r prometheus.Registerer) error {
	return telemetry.Register(r, m.collectors()...)
}

func (m *metrics) unregister(r prometheus.Registerer) {
	telemetry.Unregister(r, m.collectors()...)
}

// queuedGauge is records_queued, a gauge per destination and endpoint. Its
// value is added up when scraped from what Send and the batches count
// anyway (endpoint.queued), where a gauge set by every Send would be one
// more write to a shared word per record.
type queuedGauge struct {
	desc *prometheus.Desc
	eps  []*endpoint // every endpoint, added by New before registering
}

func (g *queuedGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *queuedGauge) Collect(ch chan<- prometheus.Metric) {
	for _, ep := range g.eps {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(ep.queued()), ep.d.name, ep.path)
	}
}

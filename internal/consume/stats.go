package consume

import (
	"maps"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// Stats is a snapshot of the consumer's progress.
type Stats struct {
	// Consumed counts records handed out: tracked, queued for handle.
	Consumed int64
	// Done counts records reported Done (first calls only).
	Done int64
	// InFlight is records handed out and not yet Done.
	InFlight int64
	// InFlightBytes is their key, value and header bytes.
	InFlightBytes int64
	// Waiting is records polled and not yet handed out, because their
	// partition holds its share of the in-flight bounds; they take room
	// from polling like those in flight. Those of a blocked partition,
	// whose fetching is paused, are not counted (see worker.go).
	Waiting int64
	// Committed is the last offset (the next to read) this member
	// committed, per topic and partition, including partitions it held
	// earlier.
	Committed map[string]map[int32]int64
	// Lag sums, over the partitions this member holds, the records from
	// the first one not Done up to the high watermark of the last fetch.
	Lag int64
}

// Stats returns a snapshot; it is safe to call at any time.
func (c *Consumer) Stats() Stats {
	s := Stats{
		Consumed:      c.consumed.Load(),
		Done:          c.doneN.Load(),
		InFlight:      c.inFlight.Load(),
		InFlightBytes: c.inFlightBytes.Load(),
		Waiting:       c.waitingN.Load(),
		Lag:           c.lag(),
	}
	c.mu.Lock()
	s.Committed = make(map[string]map[int32]int64, len(c.committed))
	for t, ps := range c.committed {
		s.Committed[t] = maps.Clone(ps)
	}
	c.mu.Unlock()
	return s
}

func (c *Consumer) lag() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var lag int64
	for _, p := range c.parts {
		p.mu.Lock()
		next, ok := p.t.next()
		if !ok {
			next = p.start
		}
		if p.hwm >= 0 && next >= 0 && p.hwm > next {
			lag += p.hwm - next
		}
		p.mu.Unlock()
	}
	return lag
}

const namespace = telemetry.Namespace

type metrics struct {
	collectors []prometheus.Collector
	commits    *prometheus.CounterVec
}

func newMetrics(c *Consumer) *metrics {
	m := &metrics{
		commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "consumer", Name: "commits_total",
			Help: "Offset commit requests by result (ok, error).",
		}, []string{"result"}),
	}
	m.commits.WithLabelValues("ok")
	m.commits.WithLabelValues("error")
	m.collectors = []prometheus.Collector{
		m.commits,
		c.lagStats,
		c.lagStats.errors,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "consumer", Name: "records_consumed_total",
			Help: "Records handed to the pipeline.",
		}, func() float64 { return float64(c.consumed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "consumer", Name: "records_done_total",
			Help: "Records finished: delivered or dead-lettered.",
		}, func() float64 { return float64(c.doneN.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "consumer", Name: "records_in_flight",
			Help: "Records handed to the pipeline and not yet finished.",
		}, func() float64 { return float64(c.inFlight.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "consumer", Name: "bytes_in_flight",
			Help: "Key, value and header bytes of the records in flight; fetching pauses at max_in_flight_bytes.",
		}, func() float64 { return float64(c.inFlightBytes.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: "consumer", Name: "lag",
			Help: "Records not yet finished in the assigned partitions, up to the high watermarks of their last fetch: it stands still while fetching is paused at max_in_flight_records, so alert on optikpi_relay_consumer_group_lag.",
		}, func() float64 { return float64(c.lag()) }),
	}
	return m
}

func (m *metrics) register(r prometheus.Registerer) error {
	return telemetry.Register(r, m.collectors...)
}

func (m *metrics) unregister(r prometheus.Registerer) {
	telemetry.Unregister(r, m.collectors...)
}

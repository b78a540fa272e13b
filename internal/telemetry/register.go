package telemetry

import (
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers every collector with r, or none: on an error it
// unregisters those it had registered, so a part whose New fails leaves the
// registry as it found it. A nil r registers nothing.
func Register(r prometheus.Registerer, cs ...prometheus.Collector) error {
	if r == nil {
		return nil
	}
	for i, c := range cs {
		if err := r.Register(c); err != nil {
			for _, done := range cs[:i] {
				r.Unregister(done)
			}
			return err
		}
	}
	return nil
}

// Unregister unregisters every collector from r; a nil r is a no-op.
func Unregister(r prometheus.Registerer, cs ...prometheus.Collector) {
	if r == nil {
		return
	}
	for _, c := range cs {
		r.Unregister(c)
	}
}

// Samples gathers g into "name{label="value",…}" → value for every counter
// and gauge (labels in Prometheus' order, by name); other types count 1. It
// is how tests and tools read a registry without parsing the text format.
func Samples(g prometheus.Gatherer) (map[string]float64, error) {
	mfs, err := g.Gather()
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var b strings.Builder
			b.WriteString(mf.GetName())
			for i, l := range m.GetLabel() {
				if i == 0 {
					b.WriteByte('{')
				} else {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%s=%q", l.GetName(), l.GetValue())
			}
			if len(m.GetLabel()) > 0 {
				b.WriteByte('}')
			}
			switch {
			case m.GetCounter() != nil:
				out[b.String()] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[b.String()] = m.GetGauge().GetValue()
			default:
				out[b.String()] = 1
			}
		}
	}
	return out, err
}

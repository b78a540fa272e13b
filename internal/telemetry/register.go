package telemetry

import "github.com/prometheus/client_golang/prometheus"

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

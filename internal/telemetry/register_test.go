package telemetry

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterAllOrNone(t *testing.T) {
	reg := prometheus.NewRegistry()
	a := prometheus.NewCounter(prometheus.CounterOpts{Name: "a_total", Help: "a"})
	b := prometheus.NewCounter(prometheus.CounterOpts{Name: "b_total", Help: "b"})
	taken := prometheus.NewCounter(prometheus.CounterOpts{Name: "b_total", Help: "b"})
	if err := reg.Register(taken); err != nil {
		t.Fatal(err)
	}
	if err := Register(reg, a, b); err == nil {
		t.Fatal("Register with a name already taken: got nil error, want one")
	}
	// a must have been taken back: registering it again succeeds.
	if err := reg.Register(a); err != nil {
		t.Errorf("after a failed Register, a is still registered: %v", err)
	}
	Unregister(reg, a, taken)
	if err := Register(reg, a, b); err != nil {
		t.Errorf("Register after Unregister: %v", err)
	}
	if err := Register(nil, a); err != nil {
		t.Errorf("Register(nil): got %v, want nil", err)
	}
}

func TestSamples(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c_total", Help: "c"}, []string{"b", "a"})
	c.WithLabelValues("x", `q"y`).Add(3)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "g"})
	g.Set(2)
	reg.MustRegister(c, g)
	got, err := Samples(reg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{`c_total{a="q\"y",b="x"}`: 3, "g": 2}
	if len(got) != len(want) {
		t.Errorf("Samples = %v; want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Samples[%s] = %v; want %v (all: %v)", k, got[k], v, got)
		}
	}
}

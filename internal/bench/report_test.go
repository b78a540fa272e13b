package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

// Each process's CPU is per acknowledged record, and the ceiling is the
// CPUs over their sum, only when all three are measured.
func TestFillCPU(t *testing.T) {
	for _, c := range []struct {
		name                             string
		acked                            int64
		use                              cpuUse
		cpus                             int
		relay, broker, emulator, ceiling float64
	}{
		{"all three", 1_000_000, cpuUse{2 * time.Second, 500 * time.Millisecond, 300 * time.Millisecond}, 2, 2, 0.5, 0.3, 2e6 / 2.8},
		{"four CPUs", 400_000, cpuUse{time.Second, time.Second, 2 * time.Second}, 4, 2.5, 2.5, 5, 4e6 / 10},
		{"emulator unmeasured", 1_000_000, cpuUse{2 * time.Second, 500 * time.Millisecond, -1}, 2, 2, 0.5, 0, 0},
		{"nothing acknowledged", 0, cpuUse{2 * time.Second, time.Second, time.Second}, 2, 0, 0, 0, 0},
	} {
		r := &Report{Acknowledged: c.acked}
		r.fillCPU(c.use, c.cpus)
		got := []float64{r.CPUMicrosPerRec, r.BrokerCPUMicrosPerRec, r.EmulatorCPUMicrosPerRec, r.CPUCeilingRecPerS}
		want := []float64{c.relay, c.broker, c.emulator, c.ceiling}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9*math.Max(1, want[i]) {
				t.Errorf("%s: relay, broker, emulator µs per record and ceiling %v; want %v", c.name, got, want)
				break
			}
		}
		if r.CPUs != c.cpus {
			t.Errorf("%s: CPUs %d; want %d", c.name, r.CPUs, c.cpus)
		}
	}
}

// Print says why the ceiling is not measured: on Linux too, a run that
// acknowledged nothing has no CPU per record.
func TestPrintCeilingNotMeasured(t *testing.T) {
	for _, c := range []struct {
		name string
		r    Report
		want string
	}{
		{"nothing acknowledged", Report{CPUs: 2}, "CPU ceiling          not measured: no record was acknowledged\n"},
		{"others unread", Report{Acknowledged: 10, CPUSeconds: 1, CPUMicrosPerRec: 1e5, CPUs: 2},
			"CPU ceiling          not measured: the broker's and the emulator's CPU is read on Linux alone, while both run\n"},
	} {
		var b strings.Builder
		c.r.Print(&b)
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%s: printed\n%s\nwant a line %q", c.name, b.String(), c.want)
		}
	}
}

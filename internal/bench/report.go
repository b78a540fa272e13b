package bench

import (
	"fmt"
	"io"
)

// Print writes the report for a reader.
func (r *Report) Print(w io.Writer) {
	what := fmt.Sprintf("a backlog of %d records", r.Produced)
	if r.Mode == "rate" {
		what = fmt.Sprintf("%d records at %d records/s", r.Produced, r.Rate)
	}
	fmt.Fprintf(w, "\nrelay bench: %s of %s, the guide's rate limits %s\n", what, r.Traffic, onOff(r.Limits))
	fmt.Fprintf(w, "  end to end           %.0f records/s (%d acknowledged in %.2f s, the first after %.2f s: %d delivered, %d dead-lettered, %d skipped)\n",
		r.RecordsPerS, r.Acknowledged, r.Seconds, r.StartupSeconds, r.Delivered, r.DeadLettered, r.Skipped)
	fmt.Fprintf(w, "  relay CPU            %.2f µs per record (%.2f s user+system)\n", r.CPUMicrosPerRec, r.CPUSeconds)
	fmt.Fprintf(w, "  relay peak RSS       %.1f MiB\n", float64(r.PeakRSSBytes)/(1<<20))
	if r.CPUCeilingRecPerS > 0 {
		fmt.Fprintf(w, "  other processes CPU  broker %.2f µs, emulator %.2f µs per record (%.2f s, %.2f s user+system)\n",
			r.BrokerCPUMicrosPerRec, r.EmulatorCPUMicrosPerRec, r.BrokerCPUSeconds, r.EmulatorCPUSeconds)
		fmt.Fprintf(w, "  CPU ceiling          %d CPUs / %.2f µs per record (relay + broker + emulator) = %.0f records/s; end to end reached %.0f%% of it\n",
			r.CPUs, r.cpuMicrosPerRec(), r.CPUCeilingRecPerS, 100*r.RecordsPerS/r.CPUCeilingRecPerS)
	} else {
		why := "the broker's and the emulator's CPU is read on Linux alone, while both run"
		if r.Acknowledged <= 0 {
			why = "no record was acknowledged"
		}
		fmt.Fprintf(w, "  CPU ceiling          not measured: %s\n", why)
	}
	fmt.Fprintf(w, "  requests             %d, %.1f records per accepted request, %d answered 429\n", r.Requests, r.AvgBatch, r.Throttled)
	note := ""
	if r.Mode == "backlog" {
		note = "; in a backlog this includes the wait behind it"
	}
	fmt.Fprintf(w, "  produce-to-ack       p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d records measured on %s%s)\n",
		r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs, r.LatencyCount, r.LatencyEndpoint, note)
	if r.Limits {
		fmt.Fprintf(w, "  API limit            %.0f records/s on %s after the first acknowledgement = %.1f%% of %.0f\n", r.EndpointRecPerS, r.LatencyEndpoint, 100*r.ShareOfAPILimit, r.APILimitRecPerS)
	}
	mark := "ok"
	if !r.Committed {
		mark = "NOT COMMITTED"
	}
	fmt.Fprintf(w, "  committed offsets = end offsets  [%s]\n", mark)
}

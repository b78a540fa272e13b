package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

// watcher follows a run: what the broker took, what the emulator accepted,
// what the relay dead-lettered, the relay's CPU and memory, and the CPU of
// the broker and the emulator beside it.
type watcher struct {
	opts     Options
	adm      *kadm.Client
	dlq      string
	statsURL string
	prod     *producer
	relay    *child
	others   *cpuMeter // the broker and the emulator
}

// preload shows progress until the backlog is produced.
func (w *watcher) preload(ctx context.Context, done <-chan error) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: interrupted: %w", ctx.Err())
		case err := <-done:
			if err != nil {
				return fmt.Errorf("bench: producing the backlog: %w", err)
			}
			fmt.Fprintf(w.opts.Progress, "%5.1fs preloaded %d records\n", time.Since(start).Seconds(), w.prod.count())
			return nil
		case <-tick.C:
			fmt.Fprintf(w.opts.Progress, "%5.1fs preloading: %d of %d records\n", time.Since(start).Seconds(), w.prod.count(), w.opts.Records)
		}
	}
}

// window is when the first and the last acknowledgements were seen, and
// how many records the latency endpoint had accepted at the first.
type window struct {
	first, last   time.Time
	firstEndpoint int64
}

// drain polls until every produced record is acknowledged (delivered,
// dead-lettered or skipped); prodDone, if not nil, reports the end of
// producing. It gives up when the relay exits, ctx ends, or nothing is
// acknowledged for the stall time.
func (w *watcher) drain(ctx context.Context, start time.Time, prodDone <-chan error) (window, error) {
	var win window
	const poll = 50 * time.Millisecond
	tick := time.NewTicker(poll)
	defer tick.Stop()
	lastShown, lastAcked, lastChange := start, int64(-1), time.Now()
	var lastCPU time.Duration
	lastOthers := make([]time.Duration, 2)
	for {
		select {
		case <-ctx.Done():
			return win, fmt.Errorf("bench: interrupted: %w", ctx.Err())
		case err := <-prodDone:
			if err != nil {
				return win, fmt.Errorf("bench: producing: %w", err)
			}
			prodDone = nil
		case <-tick.C:
		}
		if w.relay.exited() {
			return win, fmt.Errorf("bench: the relay exited: %s", w.relay.tail())
		}
		st, err := w.stats(ctx)
		if err != nil {
			return win, err
		}
		dead, err := w.deadLettered(ctx)
		if err != nil {
			return win, err
		}
		now := time.Now()
		total := st.Total()
		acked := total.RecordsAccepted + dead + w.prod.skipped.Load()
		produced := w.prod.count()
		if win.first.IsZero() && acked > 0 {
			win.first, win.firstEndpoint = now, st.Endpoints[latencyEndpoint].RecordsAccepted
		}
		if prodDone == nil && acked >= produced {
			win.last = now
			return win, nil
		}
		if acked != lastAcked {
			lastAcked, lastChange = acked, now
		} else if now.Sub(lastChange) > w.opts.Stall {
			return win, fmt.Errorf("bench: nothing acknowledged for %v (%d of %d): %s", w.opts.Stall, acked, produced, w.relay.tail())
		}
		if now.Sub(lastShown) >= time.Second {
			line := fmt.Sprintf("%5.1fs produced %d acknowledged %d (dead-lettered %d) | requests %d, 429s %d",
				now.Sub(start).Seconds(), produced, acked, dead, total.Requests, total.Throttled)
			percent := func(cpu, last time.Duration) float64 {
				return 100 * (cpu - last).Seconds() / now.Sub(lastShown).Seconds()
			}
			if cpu, rss, ok := sample(w.relay.cmd.Process.Pid); ok {
				line += fmt.Sprintf(" | relay CPU %.0f%% peak RSS %.0f MiB", percent(cpu, lastCPU), float64(rss)/(1<<20))
				lastCPU = cpu
			}
			if used, ok := w.others.used(); ok {
				line += fmt.Sprintf(" | broker CPU %.0f%%, emulator %.0f%%", percent(used[0], lastOthers[0]), percent(used[1], lastOthers[1]))
				lastOthers = used
			}
			fmt.Fprintln(w.opts.Progress, line)
			lastShown = now
		}
	}
}

// stats asks the emulator for its counts.
func (w *watcher) stats(ctx context.Context) (emulator.Stats, error) {
	var st emulator.Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.statsURL, nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("bench: emulator stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("bench: emulator stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("bench: emulator stats: %w", err)
	}
	return st, nil
}

// deadLettered is the number of records in the dead-letter topic.
func (w *watcher) deadLettered(ctx context.Context) (int64, error) {
	ends, err := w.adm.ListEndOffsets(ctx, w.dlq)
	if err != nil {
		return 0, fmt.Errorf("bench: end offsets of %s: %w", w.dlq, err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			n += o.Offset
		}
	})
	return n, nil
}

package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestKillResendsBoundedWindow: a relay killed mid-stream (no flush, no
// commit) re-sends, through the next member, only what it had not
// committed: done offsets are committed as they advance, one commit per
// interval at most, so a kill 3 s in re-sends fewer records than were
// done (with a fixed 5 s tick it re-sent every one). The log line gives the numbers: the
// window also holds done records behind a slow one (rate-limited
// profiles) on their partition, so it is not asserted more tightly.
func TestKillResendsBoundedWindow(t *testing.T) {
	h := newHarness(t, 4, nil)
	interval := config.Default().Kafka.CommitInterval
	h.cfg.Kafka.CommitInterval = interval
	h.produce(30000, 5)
	first := h.start()
	type sample struct {
		at   time.Time
		done int64
	}
	var samples []sample
	started := time.Now()
	// 3 s, and a first commit: on a loaded machine the first records can
	// take longer than that, and a kill before any commit re-sends all.
	waitFor(t, "3s of delivery and a commit", func() (bool, string) {
		d := first.p.Stats().Done()
		samples = append(samples, sample{time.Now(), d})
		c := h.committed()
		return time.Since(started) > 3*time.Second && c > 0, fmt.Sprintf("%d done, %d committed", d, c)
	})
	st := first.p.Stats()
	killed := time.Now()
	first.abort()

	second := h.start()
	h.waitCommitted()
	second.stop(t)
	h.verify(false)

	dups := h.duplicates()
	for _, es := range h.deadLetters() {
		dups += max(len(es)-1, 0)
	}
	// For the log: done within two intervals of the kill (one to wait
	// for, one for the commit under way).
	var before int64
	for _, s := range samples {
		if killed.Sub(s.at) >= 2*interval {
			before = s.done
		}
	}
	window := st.Done() - before
	inFlight := st.Consumed - st.Done()
	t.Logf("killed after %v with %d done, %d in flight; duplicates %d; done in the last 2 intervals (%v) %d",
		killed.Sub(started).Round(time.Millisecond), st.Done(), inFlight, dups, 2*interval, window)
	if int64(dups) >= st.Done() {
		t.Errorf("duplicates %d, want fewer than the %d done at the kill: nothing done was committed in %v", dups, st.Done(), killed.Sub(started))
	}
}

// duplicates counts the records Optikpi received more than once.
func (h *harness) duplicates() int {
	var dups int
	for _, k := range optikpi.Kinds() {
		seen := make(map[string]int)
		for _, id := range h.emus.EventIDs(k) {
			if seen[id]++; seen[id] > 1 {
				dups++
			}
		}
	}
	return dups
}

// committed sums the group's committed offsets over the source topics.
func (h *harness) committed() int64 {
	offs, err := h.adm.FetchOffsetsForTopics(context.Background(), h.cfg.Kafka.Group, h.topics...)
	if err != nil {
		return 0
	}
	var n int64
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Err == nil && o.At > 0 {
			n += o.At
		}
	})
	return n
}

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
// committed: done offsets are committed as they advance, so commits come
// while it runs, and the next member re-sends at most what the first
// consumed above them. How many that is depends on the machine's speed
// (records in flight reach Optikpi before the kill), so the log line gives
// the numbers, and the window is not asserted more tightly: it also holds
// done records behind a slow one (rate-limited profiles) on their
// partition. TestCommitOnDone pins the commit's timing.
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
	killed := time.Now()
	first.abort()
	// After the abort: what the first consumed in all, and the offsets the
	// second starts from.
	st := first.p.Stats()
	committed := h.committed()

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
	t.Logf("killed after %v with %d done, %d in flight, %d committed; duplicates %d; done in the last 2 intervals (%v) %d",
		killed.Sub(started).Round(time.Millisecond), st.Done(), inFlight, committed, dups, 2*interval, window)
	if resendable := st.Consumed - committed; int64(dups) > resendable {
		t.Errorf("duplicates %d, want at most the %d consumed above the %d committed: the second member re-sent committed records", dups, resendable, committed)
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

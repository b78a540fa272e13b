package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/optikpi/optikpi-relay/internal/consume"
)

// TestShutdownBudgetIncludesCommit: the final commit is part of the one
// shutdown budget. With Optikpi failing every request (so records stay in
// flight until the deadline) and the broker never answering a commit, the
// whole Shutdown still returns within the budget plus the final commit's
// one-second floor; and with the broker answering, that final commit is
// what commits the records done before it (periodic commits are off).
func TestShutdownBudgetIncludesCommit(t *testing.T) {
	for _, hang := range []bool{false, true} {
		t.Run(fmt.Sprintf("commit hangs=%v", hang), func(t *testing.T) {
			h := newHarness(t, 2, nil)
			h.cfg.Kafka.CommitInterval = time.Hour
			release := make(chan struct{})
			defer close(release)
			if hang {
				h.cluster.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
					h.cluster.KeepControl()
					h.cluster.SleepControl(func() { <-release })
					return nil, nil, false
				})
			}
			r := startWithRecordsStuck(t, h)

			r.cancel()
			if err := <-r.done; err != nil {
				t.Errorf("Run: %v", err)
			}
			r.done <- nil
			const budget = 3 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), budget)
			defer cancel()
			start := time.Now()
			err := r.p.Shutdown(ctx)
			took := time.Since(start)
			if !errors.Is(err, consume.ErrInFlight) {
				t.Errorf("Shutdown: %v; want records left in flight (ErrInFlight)", err)
			}
			// The bound is the point of the test, not a speed claim: past it
			// the kubelet would have killed the pod mid-commit.
			if limit := budget + 1500*time.Millisecond; took > limit {
				t.Errorf("Shutdown took %v; want within the budget %v plus the final commit's floor (%v)", took, budget, limit)
			}
			if hang {
				return
			}
			st := r.p.Consumer().Stats()
			var committed int64
			for _, ps := range st.Committed {
				for _, o := range ps {
					committed += o
				}
			}
			if committed < 200 {
				t.Errorf("final commit covered %d records; want the 200 done before shutdown (%v)", committed, st.Committed)
			}
		})
	}
}

// TestShutdownReserveIsTheCommits: when the drain runs out its time (records
// stuck on a failing Optikpi), the final commit still gets the reserve kept
// for it, not only its one-second floor: a commit that takes 1.5s commits
// the records done before the shutdown.
func TestShutdownReserveIsTheCommits(t *testing.T) {
	const commitTakes = 1500 * time.Millisecond
	h := newHarness(t, 2, nil)
	h.cfg.Kafka.CommitInterval = time.Hour
	r := startWithRecordsStuck(t, h)
	h.cluster.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		h.cluster.KeepControl()
		h.cluster.SleepControl(func() { time.Sleep(commitTakes) })
		return nil, nil, false
	})

	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
	r.done <- nil
	// A fifth of the budget, 2.5s, is the commit's reserve.
	const budget = 12500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if err := r.p.Shutdown(ctx); !errors.Is(err, consume.ErrInFlight) {
		t.Errorf("Shutdown: %v; want records left in flight (ErrInFlight)", err)
	}
	var committed int64
	st := r.p.Consumer().Stats()
	for _, ps := range st.Committed {
		for _, o := range ps {
			committed += o
		}
	}
	if committed < 200 {
		t.Errorf("final commit covered %d records; want the 200 done before shutdown (%v)", committed, st.Committed)
	}
}

// startWithRecordsStuck starts a relay, lets it finish 200 records, then
// makes Optikpi fail every request and hands it 50 more, which stay in
// flight: a shutdown then has records done to commit and others it cannot
// finish.
func startWithRecordsStuck(t *testing.T, h *harness) *relay {
	t.Helper()
	r := h.start()
	h.produce(200, 7)
	waitFor(t, "the first 200 records done", func() (bool, string) {
		st := r.p.Consumer().Stats()
		return st.Done == 200, fmt.Sprintf("%+v", st)
	})
	for _, em := range h.emus.ByName {
		em.SetFailRate(1)
	}
	h.produce(50, 0)
	// Handled, not only fetched: a record still queued for its
	// partition's worker when Run stops is abandoned, not left in flight.
	waitFor(t, "250 records handled", func() (bool, string) {
		st := r.p.Consumer().Stats()
		return r.p.Stats().Consumed == 250 && st.InFlight > 0, fmt.Sprintf("%+v", st)
	})
	return r
}

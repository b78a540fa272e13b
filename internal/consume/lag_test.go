package consume

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestGroupLagDuringStall: with fetching paused at MaxInFlight and nothing
// Done, the broker-side lag follows what is produced, per partition, and the
// oldest unfinished record ages; once everything is Done and committed, the
// lag and the age fall to 0.
func TestGroupLagDuringStall(t *testing.T) {
	const limit = 4
	e := newEnv(t, 2)
	e.produce(2, 10)
	reg := prometheus.NewRegistry()
	c := e.consumer("g", Options{MaxInFlight: limit, LagInterval: 50 * time.Millisecond, Registerer: reg})
	s := newSink()
	wait := run(t, c, s.handle)
	waitFor(t, "limit reached", func() (bool, string) { return s.count() == limit, fmt.Sprint(s.count()) })

	lagIs := func(want0, want1 float64) func() (bool, string) {
		return func() (bool, string) {
			got := gather(t, reg)
			l0 := got[`optikpi_relay_consumer_group_lag{partition="0",topic="events"}`]
			l1 := got[`optikpi_relay_consumer_group_lag{partition="1",topic="events"}`]
			return l0 == want0 && l1 == want1, fmt.Sprintf("lag p0=%v p1=%v", l0, l1)
		}
	}
	// Nothing is committed: the lag is everything produced.
	waitFor(t, "lag 10/10", lagIs(10, 10))
	// Fetching is paused, yet the lag follows production.
	e.produce(2, 5)
	waitFor(t, "lag 15/15 while paused", lagIs(15, 15))
	if got := s.count(); got != limit {
		t.Fatalf("handed out %d while paused, want %d", got, limit)
	}

	time.Sleep(20 * time.Millisecond)
	got := gather(t, reg)
	var oldest float64
	for p := range 2 {
		oldest = max(oldest, got[fmt.Sprintf(`optikpi_relay_consumer_oldest_unfinished_seconds{partition="%d",topic="events"}`, p)])
	}
	if oldest < 0.02 {
		t.Errorf("oldest unfinished age %v s, want at least 0.02 s", oldest)
	}

	// Finish everything: the lag and the age fall to 0.
	for done := 0; done < 30; {
		batch := s.all()
		for _, r := range batch[done:] {
			r.Done()
		}
		if len(batch) == done {
			time.Sleep(5 * time.Millisecond)
		}
		done = len(batch)
	}
	waitFor(t, "lag 0/0", lagIs(0, 0))
	got = gather(t, reg)
	for p := range 2 {
		series := fmt.Sprintf(`optikpi_relay_consumer_oldest_unfinished_seconds{partition="%d",topic="events"}`, p)
		if v, ok := got[series]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v); want 0", series, v, ok)
		}
		series = fmt.Sprintf(`optikpi_relay_consumer_group_committed_offset{partition="%d",topic="events"}`, p)
		if v := got[series]; v != 15 {
			t.Errorf("%s = %v; want 15", series, v)
		}
	}
	closeOK(t, c)
	wait()
}

// TestGroupLagOnlyOwned: two members of a group report disjoint partitions,
// so a sum over members counts each partition once.
func TestGroupLagOnlyOwned(t *testing.T) {
	e := newEnv(t, 4)
	e.produce(4, 3)
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	var cs []*Consumer
	var waits []func()
	for _, reg := range regs {
		c := e.consumer("g", Options{LagInterval: 50 * time.Millisecond, Registerer: reg, CommitInterval: time.Hour})
		cs = append(cs, c)
		waits = append(waits, run(t, c, newSink().handle))
	}
	waitFor(t, "each partition reported by exactly one member", func() (bool, string) {
		seen := make(map[string]int)
		for _, reg := range regs {
			for series := range gather(t, reg) {
				if strings.HasPrefix(series, "optikpi_relay_consumer_group_lag{") {
					seen[series]++
				}
			}
		}
		ok := len(seen) == 4
		for _, n := range seen {
			ok = ok && n == 1
		}
		return ok, fmt.Sprint(seen)
	})
	for i, c := range cs {
		c.Abort()
		waits[i]()
	}
}

// TestGroupLagPolledStaleness: the poll timestamp exists from the start, so
// that polls failing from the start age it (an absent series fires no
// alert), and a poll that missed a partition does not refresh it.
func TestGroupLagPolledStaleness(t *testing.T) {
	const series = "optikpi_relay_consumer_group_lag_polled_timestamp_seconds"
	start := time.Now()
	g := newGroupLag(&Consumer{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(g)
	got, ok := gather(t, reg)[series]
	if !ok || got < float64(start.Unix())-1 {
		t.Fatalf("before any poll: %s = %v (present %v); want the start, about %d", series, got, ok, start.Unix())
	}
	before := g.polled
	time.Sleep(10 * time.Millisecond)
	g.set(map[tp]partitionLag{{"events", 0}: {committed: 3, lag: 1}}, false)
	if g.polled != before {
		t.Errorf("an incomplete poll moved polled from %v to %v; want it kept", before, g.polled)
	}
	g.set(nil, true)
	if !g.polled.After(before) {
		t.Errorf("a complete poll left polled at %v; want later than %v", g.polled, before)
	}
}

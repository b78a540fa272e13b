package consume

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/kafkafault"
)

// TestOutageKeepsInFlight: a coordinator outage long enough for the member
// to lose its group session, which the group then gives back to the same
// member, re-sends nothing: the records in flight through the outage are
// finished and committed once the group is back.
func TestOutageKeepsInFlight(t *testing.T) {
	const parts, perPart = 2, 5
	e := newEnv(t, parts)
	var down atomic.Bool
	kafkafault.CoordinatorOutage(e.cluster, &down)
	e.produce(parts, perPart)
	c := e.consumer("g", Options{
		SessionTimeout: 10 * time.Second,
		ClientOpts:     []kgo.Opt{kgo.RetryTimeout(time.Second), kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond })},
	})
	s := newSink()
	var recovered atomic.Bool // from then on, records are done at once
	wait := run(t, c, func(ctx context.Context, r *Record) {
		s.handle(ctx, r)
		if recovered.Load() {
			r.Done()
		}
	})
	waitFor(t, "every record handed out", func() (bool, string) { return s.count() == parts*perPart, fmt.Sprint(s.count()) })

	down.Store(true)
	waitFor(t, "the group session lost", func() (bool, string) { err := c.Ready(); return err != nil, fmt.Sprint(err) })
	// Delivered during the outage.
	for _, r := range s.all() {
		r.Done()
	}
	recovered.Store(true)
	down.Store(false)

	waitFor(t, "the done records committed after the outage", func() (bool, string) {
		got := e.committed("g")
		return got[0] == perPart && got[1] == perPart, fmt.Sprintf("committed %v, handed out %d", got, s.count())
	})
	closeOK(t, c)
	wait()
	if got := s.count() - parts*perPart; got != 0 {
		t.Errorf("%d records handed out again after the outage, want 0", got)
	}
}

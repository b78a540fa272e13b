package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// unreachable fails every request while down, as an API the member cannot
// reach would.
type unreachable struct {
	down atomic.Bool
	next http.RoundTripper
}

func (u *unreachable) RoundTrip(req *http.Request) (*http.Response, error) {
	if u.down.Load() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errors.New("test: API unreachable from this member")
	}
	return u.next.RoundTrip(req)
}

// TestStaleProfileAfterRebalance is defect 7 of issue 10: member A holds
// profile updates it cannot deliver when B joins; the revoke gives up on
// them after its timeout and B, the partition's new owner, delivers them
// and newer ones. When A's API comes back, A must not deliver what it
// still holds of the moved partition: each user's last profile at Optikpi
// stays the newest.
func TestStaleProfileAfterRebalance(t *testing.T) {
	const users, before, after = 20, 5, 5
	h := newHarness(t, 2, nil)
	h.cfg.Kafka.Topics = []string{"players"} // two partitions: one moves to B
	h.topics = h.cfg.Kafka.Topics
	h.cfg.Sink.Retry.InitialBackoff = 5 * time.Millisecond
	h.cfg.Sink.Retry.MaxBackoff = 50 * time.Millisecond

	base := firstLine(t, "../../testdata/events/players.jsonl")
	updates := func(from, to int) []gen.Event {
		var events []gen.Event
		for seq := from; seq <= to; seq++ {
			for u := range users {
				events = append(events, profileUpdate(t, base, fmt.Sprintf("own%03d", u), seq))
			}
		}
		return events
	}
	h.produceEvents(updates(1, before))

	api := &unreachable{next: http.DefaultTransport}
	api.down.Store(true)
	optsA := pipeline.Options{HTTPClient: &http.Client{Transport: api}}
	pipeline.SetRevokeTimeout(&optsA, 300*time.Millisecond)
	a := h.startWith(optsA)
	waitFor(t, "A holds every update", func() (bool, string) {
		st := a.p.Consumer().Stats()
		return st.Consumed == users*before && st.InFlight == users*before, fmt.Sprintf("%+v", st)
	})

	b := h.start()
	waitFor(t, "B owns a partition", func() (bool, string) {
		st := b.p.Consumer().Stats()
		return st.Consumed > 0, fmt.Sprintf("%+v", st)
	})
	h.produceEvents(updates(before+1, before+after))
	waitFor(t, "B delivered and committed its partition", func() (bool, string) {
		gaps, err := pipeline.Uncommitted(context.Background(), h.adm, h.cfg.Kafka.Group, h.topics)
		if err != nil {
			return false, err.Error()
		}
		return len(gaps) == 1, fmt.Sprint(gaps) // A's, which it cannot deliver
	})

	api.down.Store(false)
	h.waitCommitted()
	a.stop(t) // drains what A still holds
	b.stop(t)
	h.verify(false)

	seen := profileSeqs(t, h.emus.ByName["main"])
	if len(seen) != users {
		t.Errorf("updates arrived for %d users; want %d", len(seen), users)
	}
	stale := 0
	for u, seqs := range seen {
		if last := seqs[len(seqs)-1]; last != before+after {
			stale++
			t.Errorf("user %s: last update to arrive is %d; want %d (arrival order %v)", u, last, before+after, seqs)
		}
	}
	t.Logf("A consumed %d, B consumed %d; %d users end on a stale profile", a.p.Consumer().Stats().Consumed, b.p.Consumer().Stats().Consumed, stale)
}

package consume

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestEvictedUnparks: a group session that ended because the coordinator
// no longer knows the member (its session expired, it was fenced) is a
// real loss: the group may already have given the parked partitions to
// another member, so their records stop being owned at once, before the
// next assignment, and no longer hold room. An error that says nothing of
// ownership (the coordinator unreachable) keeps them parked.
func TestEvictedUnparks(t *testing.T) {
	tests := []struct {
		err       error
		wantOwned bool
	}{
		{kerr.CoordinatorNotAvailable, true},
		{fmt.Errorf("heartbeat: %w", context.DeadlineExceeded), true},
		{kerr.UnknownMemberID, false},
		{kerr.IllegalGeneration, false},
		{kerr.FencedInstanceID, false},
		{fmt.Errorf("heartbeat: %w", kerr.UnknownMemberID), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			_, c, s, wait := holding(t, 2, 3, Options{CommitInterval: time.Hour})
			c.onLost(context.Background(), c.cl, map[string][]int32{testTopic: {0}})
			groupHook{c}.OnGroupManageError(tt.err)
			r := s.find(0, 0)
			if got := r.Owned(); got != tt.wantOwned {
				t.Errorf("Owned() = %v after the session ended with %v; want %v", got, tt.err, tt.wantOwned)
			}
			wantInFlight := int64(6)
			if !tt.wantOwned {
				wantInFlight = 3
			}
			if st := c.Stats(); st.InFlight != wantInFlight {
				t.Errorf("in flight %d; want %d", st.InFlight, wantInFlight)
			}
			for _, r := range s.all() {
				r.Done()
			}
			closeOK(t, c)
			wait()
		})
	}
}

// TestParkedPastSessionTimeout: a partition parked for longer than the
// session timeout is forgotten even though nothing told the member it was
// dropped: by then the coordinator has expired the member and may have
// given the partition to another, whose deliveries an older record held
// here must not overtake. Within the bound it stays parked.
func TestParkedPastSessionTimeout(t *testing.T) {
	_, c, s, wait := holding(t, 2, 3, Options{CommitInterval: time.Hour, parkFor: 300 * time.Millisecond})
	c.onLost(context.Background(), c.cl, map[string][]int32{testTopic: {0}})
	r := s.find(0, 0)
	if !r.Owned() {
		t.Fatalf("Owned() = false right after the loss; want true (parked)")
	}
	waitFor(t, "the parked partition forgotten", func() (bool, string) {
		return !r.Owned(), fmt.Sprintf("owned %v, %+v", r.Owned(), c.Stats())
	})
	if st := c.Stats(); st.InFlight != 3 {
		t.Errorf("in flight %d; want 3 (partition 1's)", st.InFlight)
	}
	if !s.find(1, 0).Owned() {
		t.Errorf("a record of partition 1, never lost, is not owned")
	}
	for _, r := range s.all() {
		r.Done()
	}
	closeOK(t, c)
	wait()
}

// TestParkForDefault: a lost partition stays parked at most until the
// coordinator may have dropped this member: its session expired, or a
// rebalance it could not rejoin ended, whichever comes first.
func TestParkForDefault(t *testing.T) {
	tests := []struct{ session, rebalance, want time.Duration }{
		{0, 0, DefaultSessionTimeout},
		{45 * time.Second, 10 * time.Second, 10 * time.Second},
		{10 * time.Second, 60 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		o := Options{Brokers: []string{"localhost:1"}, Group: "g", Topics: []string{"t"}, SessionTimeout: tt.session, RebalanceTimeout: tt.rebalance, RevokeTimeout: time.Second}
		if err := o.validate(); err != nil {
			t.Fatal(err)
		}
		if o.parkFor != tt.want {
			t.Errorf("session %v, rebalance %v: parked for %v; want %v", tt.session, tt.rebalance, o.parkFor, tt.want)
		}
	}
}

// TestLostQueueNotHandedOut: records queued for a partition's worker when
// the session is lost are not handed out while it is parked (the group may
// have given the partition to another member, which relays them now); only
// the one already being handled finishes.
func TestLostQueueNotHandedOut(t *testing.T) {
	_, c, release, handed, wait := queuedAtLoss(t)
	close(release)
	waitFor(t, "nothing in flight", func() (bool, string) {
		st := c.Stats()
		return st.InFlight == 0, fmt.Sprint(st.InFlight)
	})
	if got := handed(); len(got) != 1 {
		t.Errorf("handed out %v after the session was lost; want only the first, under way at the loss", got)
	}
	c.Abort()
	wait()
}

// TestLostQueueAssignedBack: records queued when the session is lost, and
// still queued when the partition is assigned back to this member, are
// handed out and committed: resume kept the partition with its tracker, so
// abandoning them then would hold its commit below them for good, and
// nothing would read them again (the tracker skips their redelivery).
func TestLostQueueAssignedBack(t *testing.T) {
	e, c, release, handed, wait := queuedAtLoss(t)
	c.resume(context.Background(), c.cl, map[string][]int32{testTopic: {0}})
	close(release)
	waitFor(t, "nothing in flight", func() (bool, string) {
		st := c.Stats()
		return st.InFlight == 0, fmt.Sprint(st.InFlight)
	})
	if got := handed(); len(got) != 20 {
		t.Errorf("handed out %v; want all 20, the partition assigned back", got)
	}
	closeOK(t, c)
	wait()
	if got := e.committed("g"); got[0] != 20 {
		t.Errorf("committed %v; want partition 0 at 20", got)
	}
}

// queuedAtLoss runs a consumer of 20 records whose handler blocks on the
// first until release is closed, so that the rest are queued, and loses
// the session then. handed returns the offsets handed out so far.
func queuedAtLoss(t *testing.T) (e *env, c *Consumer, release chan struct{}, handed func() []int64, wait func()) {
	e = newEnv(t, 1)
	e.produce(1, 20)
	c = e.consumer("g", Options{CommitInterval: time.Hour})
	release = make(chan struct{})
	started := make(chan struct{})
	var mu sync.Mutex
	var offsets []int64
	wait = run(t, c, func(_ context.Context, r *Record) {
		mu.Lock()
		offsets = append(offsets, r.Offset)
		first := len(offsets) == 1
		mu.Unlock()
		if first {
			close(started)
			<-release // the rest queue behind it
		}
		r.Done()
	})
	// The loss must come after the worker took the first record: one
	// still queued then is stale too, and abandoning it would make the
	// partition be forgotten rather than kept on resume.
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the first record was never handed out")
	}
	waitFor(t, "20 records tracked", func() (bool, string) {
		st := c.Stats()
		return st.InFlight == 20, fmt.Sprint(st.InFlight)
	})
	c.onLost(context.Background(), c.cl, map[string][]int32{testTopic: {0}})
	handed = func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(offsets)
	}
	return e, c, release, handed, wait
}

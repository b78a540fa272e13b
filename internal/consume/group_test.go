package consume

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// memberCounts records what OnMembers was called with.
type memberCounts struct {
	mu  sync.Mutex
	got []int
}

func (m *memberCounts) on(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, n)
}

func (m *memberCounts) last() (int, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.got) == 0 {
		return 0, "no call"
	}
	return m.got[len(m.got)-1], fmt.Sprint(m.got)
}

// TestGroupMembership: Ready says why until the member has joined; every
// rebalance recounts the members holding partitions, on every member, and
// a member without partitions takes no share.
func TestGroupMembership(t *testing.T) {
	const parts = 2
	e := newEnv(t, parts)
	counts := make([]*memberCounts, 3)
	cs := make([]*Consumer, 3)
	waits := make([]func(), 3)
	// A member joins as its client starts, in New.
	start := func(i int) {
		counts[i] = new(memberCounts)
		cs[i] = e.consumer("g", Options{OnMembers: counts[i].on})
		waits[i] = run(t, cs[i], func(_ context.Context, r *Record) { r.Done() })
	}
	// A member whose brokers do not answer never joins.
	lost, err := New(Options{Brokers: []string{"127.0.0.1:1"}, Group: "g", Topics: []string{testTopic}})
	if err != nil {
		t.Fatal(err)
	}
	err = lost.Ready()
	if !errors.Is(err, ErrNotJoined) || !strings.Contains(err.Error(), `"g"`) || !strings.Contains(err.Error(), "no assignment") {
		t.Errorf("Ready before joining = %v; want ErrNotJoined naming the group", err)
	}
	lost.Abort()

	counts[0] = new(memberCounts)
	cs[0] = e.consumer("g", Options{OnMembers: counts[0].on})

	waitMembers := func(want int, which ...int) {
		t.Helper()
		for _, i := range which {
			waitFor(t, fmt.Sprintf("member %d to count %d", i, want), func() (bool, string) {
				n, calls := counts[i].last()
				return n == want, calls
			})
		}
	}
	waits[0] = run(t, cs[0], func(_ context.Context, r *Record) { r.Done() })
	waitFor(t, "member 0 ready", func() (bool, string) { err := cs[0].Ready(); return err == nil, fmt.Sprint(err) })
	waitMembers(1, 0)

	start(1)
	waitMembers(2, 0, 1)
	// A third member finds no partition left: the two holding them keep
	// their shares.
	start(2)
	waitFor(t, "member 2 ready", func() (bool, string) { err := cs[2].Ready(); return err == nil, fmt.Sprint(err) })
	waitMembers(2, 0, 1, 2)

	closeOK(t, cs[1])
	waits[1]()
	if err := cs[1].Ready(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready after Close = %v; want ErrClosed", err)
	}
	closeOK(t, cs[2])
	waits[2]()
	waitMembers(1, 0)
	if got := cs[0].Members(); got != 1 {
		t.Errorf("Members() = %d; want 1", got)
	}
	closeOK(t, cs[0])
	waits[0]()
	for i, c := range counts {
		_, calls := c.last()
		t.Logf("member %d counted %s", i, calls)
	}
}

// TestLive: the consumer is live before and while Run polls, and after a
// Close; not once Run stopped because its client closed under it.
func TestLive(t *testing.T) {
	e := newEnv(t, 1)
	c := e.consumer("g", Options{})
	if err := c.Live(); err != nil {
		t.Errorf("Live before Run = %v; want nil", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Run(context.Background(), func(_ context.Context, r *Record) { r.Done() }) }()
	waitFor(t, "joined", func() (bool, string) { err := c.Ready(); return err == nil, fmt.Sprint(err) })
	if err := c.Live(); err != nil {
		t.Errorf("Live while running = %v; want nil", err)
	}
	c.cl.Close() // as a fatal client error would
	if err := <-errc; err == nil {
		t.Fatal("Run = nil after its client closed; want an error")
	}
	if err := c.Live(); err == nil || !strings.Contains(err.Error(), "consumer loop stopped") {
		t.Errorf("Live after Run failed = %v; want the loop's error", err)
	}
	c.Abort()

	c2 := e.consumer("g2", Options{})
	wait := run(t, c2, func(_ context.Context, r *Record) { r.Done() })
	closeOK(t, c2)
	wait()
	if err := c2.Live(); err != nil {
		t.Errorf("Live after Close = %v; want nil", err)
	}
}

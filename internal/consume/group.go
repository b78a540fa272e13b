package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// ErrNotJoined is returned by Ready until the member has joined its group
// and received an assignment (perhaps empty), and again from the end of a
// group session until it rejoins.
var ErrNotJoined = errors.New("consume: not a member of the group")

// DefaultMembersInterval is how often, by default, the group's members are
// counted between rebalances.
const DefaultMembersInterval = 15 * time.Second

// membersTimeout bounds one count; a count that fails keeps the last one.
const membersTimeout = 5 * time.Second

// group is this member's view of its consumer group: whether it is in it,
// and how many members share the work.
type group struct {
	mu      sync.Mutex
	joined  bool
	ended   error // why the last session ended, while not joined
	members int   // last count, 0 before the first

	countMu sync.Mutex // one count at a time, so OnMembers sees them in order
	ctx     context.Context
	cancel  context.CancelFunc // ends counting: Close and Abort
	done    chan struct{}      // closed when membersLoop has returned
}

// Ready returns nil while the consumer is a member of its group with an
// assignment, else why not, wrapping ErrNotJoined (or ErrClosed once Close
// or Abort was called).
func (c *Consumer) Ready() error {
	if c.closed.Load() {
		return ErrClosed
	}
	g := &c.group
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.joined:
		return nil
	case g.ended != nil:
		return fmt.Errorf("%w %q: the session ended (%w); rejoining", ErrNotJoined, c.opts.Group, g.ended)
	default:
		return fmt.Errorf("%w %q yet: no assignment received", ErrNotJoined, c.opts.Group)
	}
}

// Members returns how many of the group's members hold partitions, as last
// counted; 0 before the first count or without Options.OnMembers.
func (c *Consumer) Members() int {
	c.group.mu.Lock()
	defer c.group.mu.Unlock()
	return c.group.members
}

// initGroup readies the group state before the client exists: the client
// joins as soon as it is created, and may call onAssigned before New
// returns.
func (c *Consumer) initGroup() {
	g := &c.group
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.done = make(chan struct{})
}

// startGroup starts counting the members, once the client exists.
func (c *Consumer) startGroup() {
	if c.opts.OnMembers == nil {
		close(c.group.done)
		return
	}
	go c.membersLoop()
}

// stopGroup stops counting and waits for the loop to return.
func (c *Consumer) stopGroup() {
	c.group.cancel()
	<-c.group.done
}

// joined is called on every assignment: kgo calls onAssigned after each
// rebalance, even when nothing new is assigned.
func (c *Consumer) joined(ctx context.Context, cl *kgo.Client) {
	g := &c.group
	g.mu.Lock()
	g.joined, g.ended = true, nil
	g.mu.Unlock()
	if c.opts.OnMembers != nil {
		// Before the new partitions are fetched: kgo waits for onAssigned.
		c.countMembers(ctx, cl)
	}
}

// left is called when the session ended without this member leaving.
func (c *Consumer) left(err error) {
	g := &c.group
	g.mu.Lock()
	g.joined = false
	if err != nil {
		g.ended = err
	}
	g.mu.Unlock()
}

// membersLoop counts the members every MembersInterval: a member that
// leaves under the cooperative-sticky balancer may revoke nothing from this
// one, and a count after an assignment may have failed.
func (c *Consumer) membersLoop() {
	defer close(c.group.done)
	t := time.NewTicker(c.opts.MembersInterval)
	defer t.Stop()
	for {
		select {
		case <-c.group.ctx.Done():
			return
		case <-t.C:
		}
		if c.Ready() == nil {
			c.countMembers(c.group.ctx, c.cl)
		}
	}
}

// countMembers describes the group and, if the number of members holding
// partitions changed, logs it and calls OnMembers. Members without
// partitions send nothing, so they take no share; while no member is seen
// to hold any (mid-rebalance), every member counts.
func (c *Consumer) countMembers(ctx context.Context, cl *kgo.Client) {
	g := &c.group
	g.countMu.Lock()
	defer g.countMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, membersTimeout)
	defer cancel()
	// Stop with Close as well as with kgo's context.
	stop := context.AfterFunc(g.ctx, cancel)
	defer stop()

	described, err := kadm.NewClient(cl).DescribeGroups(ctx, c.opts.Group)
	dg := described[c.opts.Group]
	if err == nil {
		err = dg.Err
	}
	if err != nil {
		if g.ctx.Err() == nil {
			c.log.Warn("counting the group's members failed; keeping the last count", zap.String("group", c.opts.Group), zap.Error(err))
		}
		return
	}
	n := 0
	for _, m := range dg.Members {
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range a.Topics {
				if len(t.Partitions) > 0 {
					n++
					break
				}
			}
		}
	}
	if n == 0 {
		n = len(dg.Members)
	}
	if n == 0 {
		return // an empty group: nothing to share
	}
	g.mu.Lock()
	last := g.members
	g.members = n
	g.mu.Unlock()
	if n == last {
		return
	}
	c.log.Info("group members holding partitions", zap.String("group", c.opts.Group), zap.Int("members", n), zap.Int("was", last), zap.String("state", dg.State))
	c.opts.OnMembers(n)
}

// groupHook learns why a group session ended.
type groupHook struct{ c *Consumer }

// OnGroupManageError implements kgo.HookGroupManageError. kgo calls it
// right after onLost, before rejoining. An error saying the coordinator
// dropped this member is a real loss, not an outage: the group may already
// have given the parked partitions to another member, so they are
// forgotten now, lest what this member holds of them overtake what the new
// owner delivers (issue 10, defect 7), rather than at the next assignment.
func (h groupHook) OnGroupManageError(err error) {
	h.c.left(err)
	if evicted(err) && h.c.unpark() > 0 {
		h.c.log.Warn("dropped from the group; the parked partitions' records in flight are left to their next owner", zap.Error(err))
	}
}

// evicted reports whether err says the coordinator no longer counts this
// member in the group, so that its partitions may be another's.
func evicted(err error) bool {
	for _, e := range []error{kerr.UnknownMemberID, kerr.IllegalGeneration, kerr.FencedInstanceID, kerr.FencedMemberEpoch} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Live returns nil while the consumer can still relay: before Run, while
// Run polls (or waits for room, which is the sink's business), and once
// Close or Abort stopped it on purpose. It returns why once Run stopped on
// its own, its Kafka client closed under it: only a restart helps then.
func (c *Consumer) Live() error {
	if p := c.runErr.Load(); p != nil {
		return fmt.Errorf("consume: the consumer loop stopped: %w", *p)
	}
	return nil
}

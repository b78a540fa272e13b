package consume

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// kgo calls these from its group management goroutine, never two at once,
// and (with BlockRebalanceOnPoll) never between a poll and AllowRebalance.

func (c *Consumer) onAssigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	c.resume(ctx, cl, assigned)
	c.unpause(cl, assigned)
	c.mu.Lock()
	for topic, ps := range assigned {
		for _, n := range ps {
			c.partitionLocked(topic, n)
		}
	}
	c.mu.Unlock()
	signal(c.lagNow)
	c.log.Info("partitions assigned", zap.Any("partitions", assigned))
	c.joined(ctx, cl) // c.cl may not be set yet: the client joins from its creation
}

// onRevoked waits up to RevokeTimeout for the revoked partitions' records
// in flight, commits what is committable for them, and forgets them. The
// group waits for this to return before it gives them to another member.
func (c *Consumer) onRevoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if c.aborted.Load() {
		return
	}
	parts := c.take(revoked, false)
	if len(parts) == 0 {
		return
	}
	waited := c.waitDrained(parts)
	if c.aborted.Load() {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, c.opts.CommitTimeout)
	err := c.commit(cctx, parts, true)
	cancel()
	c.forget(parts)
	if err != nil {
		c.log.Warn("commit on revoke failed; the next owner reprocesses from the last commit", zap.Any("partitions", revoked), zap.Error(err))
		return
	}
	if !waited {
		c.log.Warn("revoke timeout: records still in flight are left to the next owner", zap.Any("partitions", revoked), zap.Duration("revoke_timeout", c.opts.RevokeTimeout))
		return
	}
	c.log.Info("partitions revoked and committed", zap.Any("partitions", revoked))
}

// onLost parks the partitions: kgo ends the group session on any error it
// cannot retry, a coordinator unreachable for a while as much as a real
// loss of ownership, and cannot tell which. Records in flight keep going
// and their Done still counts, but nothing is committed for a parked
// partition nor handed out from it; the next assignment settles it (see
// resume), unless the session ended because the coordinator dropped this
// member, which forgets it at once (groupHook), or no assignment came
// within the session timeout (or the rebalance timeout, if less): the last
// heartbeat that reached the coordinator was before onLost, so by then it
// may have dropped this member and given the partitions to another.
func (c *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.left(nil)
	parts := c.take(lost, false)
	if c.aborted.Load() {
		c.forget(parts)
		return
	}
	c.mu.Lock()
	for _, p := range parts {
		p.mu.Lock()
		p.gen.Add(1) // records polled or queued before now are never handed out
		p.mu.Unlock()
		c.lost[p.key()] = p
	}
	if len(parts) > 0 {
		c.parkTimer = append(c.parkTimer, time.AfterFunc(c.opts.parkFor, func() { c.expire(parts) }))
	}
	c.mu.Unlock()
	if len(parts) > 0 {
		c.log.Warn("group session lost; records in flight are finished, and committed if the partitions come back to this member", zap.Any("partitions", lost))
	}
}

// resume settles the partitions onLost parked, at the first assignment
// after it. One assigned back to this member gets its tracker back, so
// that its records in flight or done through the outage are committed, not
// read again: kgo resumes fetching at the group's committed offset, and
// push skips what the tracker already holds. Unless the group's committed
// offset for it can be read: then another member may have committed past
// this member's records meanwhile, and this member's commit must never go
// back behind it. A partition that went elsewhere, or whose offset cannot
// be read, or with an abandoned record (which would never be read again),
// is forgotten: its next owner reads the uncommitted records again.
func (c *Consumer) resume(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	parked := c.lost
	c.lost = make(map[tp]*partition)
	c.stopParkTimersLocked()
	c.mu.Unlock()
	if len(parked) == 0 {
		return
	}
	var back, drop []*partition
	for k, p := range parked {
		if slices.Contains(assigned[k.topic], k.partition) {
			back = append(back, p)
		} else {
			drop = append(drop, p)
		}
	}
	if len(back) > 0 {
		committed, err := c.groupCommitted(ctx, cl)
		if err != nil {
			c.log.Warn("reading the group's offsets failed; partitions assigned back are read again from the last commit", zap.Error(err))
			drop, back = append(drop, back...), nil
		}
		var resumed []*partition
		for _, p := range back {
			at, ok := committed[p.key()]
			if !ok {
				at = -1
			}
			p.mu.Lock()
			keep := !p.forgotten && !p.t.hasAbandoned()
			if keep {
				p.committed = max(p.committed, at)
				p.gone, p.resumed = false, true
				p.kept = p.gen.Load() // what it queued is handed out
			}
			p.mu.Unlock()
			if !keep {
				drop = append(drop, p)
				continue
			}
			c.mu.Lock()
			c.parts[p.key()] = p
			c.assigned.Store(int64(len(c.parts)))
			c.mu.Unlock()
			resumed = append(resumed, p)
		}
		if len(resumed) > 0 {
			signal(c.advanced) // what was done through the outage
			c.log.Info("partitions assigned back after the session loss; their records in flight are kept", zap.Int("partitions", len(resumed)))
		}
	}
	c.forget(drop)
}

// groupCommitted reads the group's committed offsets.
func (c *Consumer) groupCommitted(ctx context.Context, cl *kgo.Client) (map[tp]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.CommitTimeout)
	defer cancel()
	os, err := kadm.NewClient(cl).FetchOffsets(ctx, c.opts.Group)
	if err == nil {
		err = os.Error()
	}
	if err != nil {
		return nil, err
	}
	out := make(map[tp]int64)
	os.Each(func(o kadm.OffsetResponse) { out[tp{o.Topic, o.Partition}] = o.At })
	return out, nil
}

// unpark forgets every parked partition, and returns how many: Close,
// Abort, and a session ended by eviction.
func (c *Consumer) unpark() int {
	c.mu.Lock()
	parked := slices.Collect(maps.Values(c.lost))
	clear(c.lost)
	c.stopParkTimersLocked()
	c.mu.Unlock()
	c.forget(parked)
	return len(parked)
}

// expire forgets those of parts still parked: their session was lost
// parkFor ago and no assignment settled them.
func (c *Consumer) expire(parts []*partition) {
	c.mu.Lock()
	var expired []*partition
	for _, p := range parts {
		if k := p.key(); c.lost[k] == p {
			delete(c.lost, k)
			expired = append(expired, p)
		}
	}
	c.mu.Unlock()
	if len(expired) > 0 {
		c.log.Warn("partitions parked past the session timeout are forgotten; their records in flight are left to their next owner", zap.Int("partitions", len(expired)))
		c.forget(expired)
	}
}

// stopParkTimersLocked stops the expiry of what is parked now; c.mu is
// held. One already firing finds nothing it parked.
func (c *Consumer) stopParkTimersLocked() {
	for _, t := range c.parkTimer {
		t.Stop()
	}
	c.parkTimer = nil
}

// waitDrained waits until parts, which are gone, have no record in flight,
// for at most RevokeTimeout or until Abort. It reports whether they drained.
func (c *Consumer) waitDrained(parts []*partition) bool {
	var waits []chan struct{}
	for _, p := range parts {
		p.mu.Lock()
		if p.t.pending > 0 && !p.forgotten {
			if p.drained == nil {
				p.drained = make(chan struct{})
			}
			waits = append(waits, p.drained)
		}
		p.mu.Unlock()
	}
	if len(waits) == 0 {
		return true
	}
	if c.opts.onRevokeWait != nil {
		c.opts.onRevokeWait(parts)
	}
	timer := time.NewTimer(c.opts.RevokeTimeout)
	defer timer.Stop()
	for _, ch := range waits {
		select {
		case <-ch:
		case <-timer.C:
			return false
		case <-c.abort:
			return false
		}
	}
	return true
}

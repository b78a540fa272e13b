package consume

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// kgo calls these from its group management goroutine, never two at once,
// and (with BlockRebalanceOnPoll) never between a poll and AllowRebalance.

func (c *Consumer) onAssigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
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

// onLost forgets the partitions without committing: another member may own
// them already.
func (c *Consumer) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.left(nil)
	c.forget(c.take(lost, false))
	if len(lost) > 0 && !c.aborted.Load() {
		c.log.Warn("partitions lost; their uncommitted records go to the next owner", zap.Any("partitions", lost))
	}
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

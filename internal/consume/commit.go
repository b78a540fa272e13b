package consume

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// Offsets are committed with kgo's CommitOffsetsSync and auto-commit off.
// kgo stamps each commit with the group's member ID and generation, keeps
// commits out of a join and sync, and orders them; the EpochOffsets carry
// the leader epoch of the last record released (KIP-320), as kgo's own
// CommitRecords does. AutoCommitMarks with MarkCommitOffsets would have
// done the periodic part, but a custom OnPartitionsRevoked replaces kgo's
// revoke commit anyway, and one explicit path for the three commits
// (periodic, revoke, close) is easier to reason about.

// commitLoop commits what is committable as soon as a record's Done makes
// a partition's offset advance, so that a kill re-sends little, but no
// more often than once per CommitInterval: a commit started less than an
// interval ago makes the next wait for the rest of it, and takes every
// advance made meanwhile. The loop is the only committer besides a revoke
// and Close, so one commit at most is in flight from it. The ticker
// retries a failed commit; when nothing advanced it sends nothing.
func (c *Consumer) commitLoop() {
	defer close(c.loopDone)
	t := time.NewTicker(c.opts.CommitInterval)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-c.quit:
			return
		case <-c.advanced:
		case <-t.C:
		}
		if wait := c.opts.CommitInterval - time.Since(last); wait > 0 {
			pause := time.NewTimer(wait)
			select {
			case <-c.quit:
				pause.Stop()
				return
			case <-pause.C:
			}
		}
		last = time.Now()
		if c.opts.noLoopCommit {
			continue
		}
		c.mu.Lock()
		parts := slices.Collect(maps.Values(c.parts))
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(c.commitCtx, c.opts.CommitTimeout)
		if err := c.commit(ctx, parts, false); err != nil && c.commitCtx.Err() == nil {
			c.log.Warn("commit failed; retried at the next interval", zap.Error(err))
		}
		cancel()
	}
}

// commit commits, for each of parts, the offset after its last released
// record if that is beyond what this member committed. Partitions that are
// gone are skipped unless withGone: only the revoke and Close, which took
// them, may still commit for them.
func (c *Consumer) commit(ctx context.Context, parts []*partition, withGone bool) error {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	if c.aborted.Load() {
		return nil
	}
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	sent := make(map[tp]*partition)
	for _, p := range parts {
		p.mu.Lock()
		eo, ok := p.t.committable()
		skip := !ok || p.forgotten || (p.gone && !withGone) || eo.Offset <= p.committed
		p.mu.Unlock()
		if skip {
			continue
		}
		if offsets[p.topic] == nil {
			offsets[p.topic] = make(map[int32]kgo.EpochOffset)
		}
		offsets[p.topic][p.partition] = eo
		sent[p.key()] = p
	}
	if len(sent) == 0 {
		return nil
	}

	var errs []error
	c.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		// From v10 a response names topics by ID only.
		names := make(map[[16]byte]string, len(req.Topics))
		for _, t := range req.Topics {
			names[t.TopicID] = t.Topic
		}
		for _, t := range resp.Topics {
			topic := t.Topic
			if topic == "" {
				topic = names[t.TopicID]
			}
			for _, rp := range t.Partitions {
				if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
					errs = append(errs, fmt.Errorf("%s[%d]: %w", topic, rp.Partition, err))
					continue
				}
				if p := sent[tp{topic, rp.Partition}]; p != nil {
					c.committedOK(p, offsets[topic][rp.Partition].Offset)
				}
			}
		}
	})
	if len(errs) > 0 {
		c.m.commits.WithLabelValues("error").Inc()
		return fmt.Errorf("consume: commit: %w", errors.Join(errs...))
	}
	c.m.commits.WithLabelValues("ok").Inc()
	return nil
}

func (c *Consumer) committedOK(p *partition, offset int64) {
	p.mu.Lock()
	p.committed = max(p.committed, offset)
	p.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := c.committed[p.topic]
	if ps == nil {
		ps = make(map[int32]int64)
		c.committed[p.topic] = ps
	}
	ps[p.partition] = offset
}

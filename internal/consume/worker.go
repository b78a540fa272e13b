package consume

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Each partition's records are handled by a goroutine of its own, so that
// handling uses every core and a partition whose handler blocks (its
// destination's queue is full) holds back only itself. One goroutine per
// partition rather than a fixed pool: a pool would hash partitions onto
// shared workers, and a blocked one would stall its neighbours; the cores
// bound the parallelism anyway (GOMAXPROCS), and a goroutine costs a few KiB.
//
// Run's loop pushes a partition's records in offset order; its worker hands
// them to handle in that order. A worker is started with its partition's
// first record and stops when the partition is forgotten (revoked, lost for
// good, or the consumer closed) or Run returns; Run waits for every worker
// it started before it returns.
//
// A partition whose records wait (for a destination that takes none) must
// not use up the in-flight bounds, or every other partition stops too. So
// once half of MaxInFlight or of MaxInFlightBytes is in flight, a partition
// holding its share (its equal part of either bound among the partitions
// assigned) has no room: what it is polled waits untracked, not in flight,
// until it has room again. Below half of the bounds a partition may take
// more than its share, so that one busy partition alone still fills its
// batches. Records waiting untracked take room from polling like those in
// flight, until their partition's worker is blocked (see pauseLocked): then
// fetching the partition pauses, and its waiting records no longer count,
// so that the others keep flowing. A blocked partition holds at most what
// it was polled before it paused: the bounds once more, at most.

// hands is what Run's workers share: the handler, the context given to it,
// and the workers' count, which Run waits for.
type hands struct {
	ctx    context.Context
	handle func(context.Context, *Record)
	wg     sync.WaitGroup
}

// startLocked wakes p's worker, starting it if none runs; p.mu is held.
func (c *Consumer) startLocked(h *hands, p *partition) {
	if !p.working {
		p.working = true
		h.wg.Add(1)
		go c.work(h, p)
		return
	}
	signal(p.wake)
}

// work hands p's records to h.handle in order until p is forgotten or
// h.ctx ends. It swaps the queue for a spare slice, so that the poll loop
// appends while the worker handles, taking p.mu once per batch.
func (c *Consumer) work(h *hands, p *partition) {
	defer h.wg.Done()
	var batch []*Record
	for {
		batch = c.next(h.ctx, p, batch[:0])
		if batch == nil {
			return
		}
		for i, r := range batch {
			batch[i] = nil
			switch {
			case h.ctx.Err() != nil:
				// Never queued: its partition is never committed at
				// or past it, and its next owner reads it again.
				r.Abandon()
			case r.gen != p.gen.Load() && r.abandonStale():
				// Queued before a session loss: not handed out while
				// parked, since the coordinator may have given its
				// partition to another member, which relays it now;
				// abandoned, the partition is read again from its last
				// commit if it comes back (see resume). Once resume
				// kept the partition, it is handed out after all.
			case r.Owned():
				p.calls.Add(1)
				h.handle(h.ctx, r)
				p.calls.Add(1)
			}
		}
	}
}

// next waits for p's tracked records, tracking what waits untracked as
// room comes, and returns them in spare; or returns nil, with the worker
// marked stopped, once p is forgotten or ctx ends: records tracked and not
// handled then are abandoned.
func (c *Consumer) next(ctx context.Context, p *partition, spare []*Record) []*Record {
	p.mu.Lock()
	for {
		if p.forgotten || ctx.Err() != nil {
			left := p.queue
			c.dropWaitingLocked(p)
			p.queue, p.working = nil, false
			p.mu.Unlock()
			for _, r := range left {
				r.Abandon() // ignored once forgotten
			}
			return nil
		}
		c.admitLocked(p)
		if len(p.queue) > 0 {
			break
		}
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-ctx.Done():
		}
		p.mu.Lock()
	}
	batch := p.queue
	p.queue = spare
	p.mu.Unlock()
	return batch
}

// admitLocked tracks, in order, what waits untracked while p has room,
// dropping what a revoke or a session loss made stale, and resumes
// fetching p once nothing waits; p.mu is held.
func (c *Consumer) admitLocked(p *partition) {
	var now int64
	if p.waiting.len() > 0 {
		now = time.Now().UnixNano()
	}
	// Each is counted in flight as it is tracked, before it stops
	// counting as waiting, so that Run never sees more room than there
	// is; and at once, since other partitions' workers read the counts
	// (roomLocked) while this one admits.
	n, size := 0, int64(0)
	for _, r := range p.waiting.all() {
		if !p.gone && r.gen == p.gen.Load() {
			if !c.roomLocked(p) {
				break
			}
			if c.trackLocked(r, now) {
				p.queue = append(p.queue, r)
			}
		}
		size += r.size
		n++
	}
	c.unwaitLocked(p, n, size)
	p.waiting.take(n, c.keepWaiting())
	if p.waiting.len() > 0 {
		return
	}
	p.waitingBytes = 0
	if p.paused {
		p.paused = false
		c.cl.ResumeFetchPartitions(map[string][]int32{p.topic: {p.partition}})
	}
}

// dropWaitingLocked drops every record waiting untracked in p, which is
// never handed out now; p.mu is held.
func (c *Consumer) dropWaitingLocked(p *partition) {
	c.unwaitLocked(p, p.waiting.len(), p.waitingBytes)
	p.waiting.reset(0) // no record of p waits again
	p.waitingBytes = 0
}

// unwaitLocked takes n records of size bytes off p's waiting count; p.mu
// is held.
func (c *Consumer) unwaitLocked(p *partition, n int, size int64) {
	if n == 0 {
		return
	}
	p.waitingBytes -= size
	if !p.paused {
		c.waitingN.Add(-int64(n))
		c.waitingB.Add(-size)
		signal(c.room)
	}
}

// pollSize is the most records one poll brings: an eighth of MaxInFlight,
// so that what one partition gets beyond its room before it pauses leaves
// room for the others.
func (c *Consumer) pollSize() int64 { return max(1, int64(c.opts.MaxInFlight)/8) }

// keepWaiting is the most records a partition's emptied waitQueue keeps
// room for: a poll's worth, which one that waits may well get again.
func (c *Consumer) keepWaiting() int { return int(c.pollSize()) }

// shares returns one partition's equal part of the records and bytes
// bounds.
func (c *Consumer) shares() (records, bytes int64) {
	n := max(1, c.assigned.Load())
	return max(1, int64(c.opts.MaxInFlight)/n), max(1, c.opts.MaxInFlightBytes/n)
}

// roomLocked reports whether p may track one more record: below its share
// of both bounds, or while less than half of either is in flight; p.mu is
// held.
func (c *Consumer) roomLocked(p *partition) bool {
	if 2*c.inFlight.Load() < int64(c.opts.MaxInFlight) && 2*c.inFlightBytes.Load() < c.opts.MaxInFlightBytes {
		return true
	}
	records, bytes := c.shares()
	return int64(p.t.pending) < records && p.bytes < bytes
}

// waitLocked keeps r untracked behind what waits already, and pauses
// fetching p if its worker is blocked at now; p.mu is held.
func (c *Consumer) waitLocked(p *partition, r *Record, now int64) {
	p.waiting.push(r)
	p.waitingBytes += r.size
	if !p.paused {
		c.waitingN.Add(1)
		c.waitingB.Add(r.size)
	}
	c.pauseLocked(p, now)
}

// blockedAfter is how long a partition's worker is in one handle call, or
// its records in flight go without one finishing, before the partition
// counts as blocked: far longer than mapping a record, or a batch's linger
// and request, take, so that it is a destination not taking records. It
// is timed from when Run first sees the call under way, or the last record
// finished (see watchLocked): at most a poll or a tenth of blockedAfter
// after the fact while records come for the partition or Run waits for
// room, which is when a blocked partition holds room that others need.
const blockedAfter = 5 * time.Second

// watchLocked notes, at now (Unix nanoseconds), whether p's worker began or
// ended a handle call, or a record of p finished, since the last look.
// Only Run calls it, with a clock that never goes back; the worker and
// Done only count, since a clock reading per record costs more than the
// rest of their bookkeeping. p.mu is held.
func (p *partition) watchLocked(now int64) {
	if n := p.calls.Load(); n != p.seenCalls {
		p.seenCalls, p.sinceCall = n, now
	}
	if p.finished != p.seenFinished {
		p.seenFinished, p.progress = p.finished, now
	}
}

// pauseLocked pauses fetching p once half a share waits untracked while p
// is blocked at now (Unix nanoseconds). Its waiting records then no longer
// take room from polling: what a blocked partition holds stops growing, and
// the others get the room. A partition that makes progress is never paused
// (a resumed partition is fetched only with the next fetch request), so a
// backlog flows without pauses. p.mu is held.
func (c *Consumer) pauseLocked(p *partition, now int64) {
	p.watchLocked(now)
	if p.paused || p.waiting.len() == 0 {
		return
	}
	records, bytes := c.shares()
	if 2*int64(p.waiting.len()) < records && 2*p.waitingBytes < bytes {
		return
	}
	handling := p.seenCalls%2 == 1 && now-p.sinceCall >= int64(blockedAfter)
	finishing := p.t.pending == 0 || now-p.progress < int64(blockedAfter)
	if !handling && finishing {
		return
	}
	p.paused = true
	c.waitingN.Add(-int64(p.waiting.len()))
	c.waitingB.Add(-p.waitingBytes)
	signal(c.room)
	c.cl.PauseFetchPartitions(map[string][]int32{p.topic: {p.partition}})
}

// waitRoom waits for room: until a record finishes, ctx ends, or a tenth of
// blockedAfter passes, and then pauses the partitions blocked since (see
// pauseBlocked). Run waits here for room to poll and, in the middle of a
// poll's records, for bytes: either way the room may be held by a blocked
// partition that no finishing record will ever free.
func (c *Consumer) waitRoom(ctx context.Context) {
	select {
	case <-c.room:
	case <-ctx.Done():
	case <-time.After(blockedAfter / 10):
		c.pauseBlocked()
	}
}

// pauseBlocked pauses each partition whose worker is blocked with half a
// share waiting: Run calls it while it waits for room, since no record
// comes to push then.
func (c *Consumer) pauseBlocked() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now().UnixNano()
	for _, p := range c.parts {
		p.mu.Lock()
		c.pauseLocked(p, now)
		p.mu.Unlock()
	}
}

// unpause resumes fetching the partitions just assigned: kgo keeps a pause
// across rebalances, and a partition assigned again, or assigned back after
// a session loss, starts afresh or pauses again.
func (c *Consumer) unpause(cl *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	for topic, ps := range assigned {
		for _, n := range ps {
			if p := c.parts[tp{topic, n}]; p != nil {
				p.mu.Lock()
				if p.paused { // what waits takes room again
					p.paused = false
					c.waitingN.Add(int64(p.waiting.len()))
					c.waitingB.Add(p.waitingBytes)
				}
				p.mu.Unlock()
			}
		}
	}
	c.mu.Unlock()
	cl.ResumeFetchPartitions(assigned)
}

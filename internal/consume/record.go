package consume

import (
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is a Kafka record handed out by Run, with what tracks its offset.
type Record struct {
	*kgo.Record

	c    *Consumer
	p    *partition
	seq  uint64
	size int64 // recordBytes
	gen  int64 // its partition's gen when it was polled
}

// Done reports the record finished: acknowledged by Optikpi or written to
// the dead-letter topic. Its offset becomes committable once every earlier
// record of its partition is Done too. Done is safe from any goroutine and
// idempotent; it is ignored once this member lost the partition (the next
// owner reads the record again) or after Abort.
func (r *Record) Done() {
	if r == nil || r.p == nil {
		return
	}
	r.c.done(r.p, r.seq, r.size)
}

// Owned reports whether this member still owns the record's partition. It
// turns false for good once the partition is forgotten: revoked past the
// revoke timeout; lost, once the coordinator says this member was dropped,
// the next assignment gives it elsewhere, or none came within the session
// (or rebalance) timeout (parked until then, it stays true); or the consumer closed or
// aborted. Done is ignored from then on and the partition's next owner
// relays the record again, so work on it should stop, lest an older record
// overtake what the next owner delivers. It is one atomic load, safe from
// any goroutine. A Record not handed out by a Consumer counts as owned.
func (r *Record) Owned() bool {
	return r == nil || r.p == nil || !r.p.disowned.Load()
}

// partition is one assigned partition's tracking state. A revoke marks it
// gone and, once forgotten, it is no longer in Consumer.parts: a partition
// assigned again gets a new one, so stale records and Done calls can never
// touch the new assignment.
type partition struct {
	topic     string
	partition int32

	mu        sync.Mutex
	t         tracker
	hwm       int64 // high watermark of the last fetch; -1 unknown
	start     int64 // first offset fetched; -1 none yet
	committed int64 // last offset this member committed; -1 none
	bytes     int64 // recordBytes of the records pending
	gone      bool  // revoked or lost: Run hands out no more of it
	forgotten bool  // no longer counted: Done is ignored
	// gen counts sessions lost: a record polled or queued in an earlier
	// one is never handed out, unless resume kept the partition since
	// (kept). Written under mu, read by workers without.
	gen     atomic.Int64
	kept    int64 // the gen at which resume last kept the partition
	resumed bool  // assigned back after a loss: redeliveries are expected
	drained chan struct{}

	queue        []*Record     // tracked, for the partition's worker to handle
	waiting      waitQueue     // polled, not tracked: the partition had no room
	waitingBytes int64         // their recordBytes
	working      bool          // its worker runs
	wake         chan struct{} // a record queued or done, or the partition forgotten
	paused       bool          // fetching paused: its worker is blocked (see pauseLocked)
	// calls counts the starts and ends of the worker's handle calls: odd
	// while one is under way. finished counts the records of it that
	// finished. Neither reads the clock, which would cost more than either
	// per record; watchLocked times them.
	calls    atomic.Int64
	finished int64
	// What watchLocked last saw of calls and finished, and when each was
	// first seen so (Unix nanoseconds): sinceCall is when the handle call
	// under way was first seen; progress when a record was first seen
	// finished, or one was tracked with none pending. See pauseLocked.
	seenCalls, seenFinished int64
	sinceCall, progress     int64

	// disowned is set with forgotten, for Owned to read without mu.
	disowned atomic.Bool
}

// Abandon reports that the record will not be finished by this member,
// typically because the pipeline is shutting down before it could be
// queued. It stops counting as in flight, so Close and a revoke do not
// wait for it, but its partition is never committed at or past it: the
// next owner of the partition reads it again. A Done after Abandon, or an
// Abandon after Done, is ignored.
func (r *Record) Abandon() {
	if r == nil || r.p == nil {
		return
	}
	r.c.abandon(r.p, r.seq, r.size)
}

func newPartition(topic string, p int32) *partition {
	return &partition{topic: topic, partition: p, t: newTracker(), hwm: -1, start: -1, committed: -1, wake: make(chan struct{}, 1)}
}

func (c *Consumer) done(p *partition, seq uint64, size int64)    { c.finish(p, seq, size, false, false) }
func (c *Consumer) abandon(p *partition, seq uint64, size int64) { c.finish(p, seq, size, true, false) }

// abandonStale abandons r if it was polled before a session loss that no
// assignment has settled by giving the partition back (see resume), and
// reports whether it did. Decided under p.mu: resume keeps a partition only
// without an abandoned record, and must not keep one that this then
// abandons, or its commit would stop below r for good.
func (r *Record) abandonStale() bool {
	return r.c.finish(r.p, r.seq, r.size, true, true)
}

// finish takes the record at seq, of size bytes, out of flight: done, or
// abandoned; if stale, only while its partition is parked and it is from
// before the loss (see abandonStale). It reports whether it did.
func (c *Consumer) finish(p *partition, seq uint64, size int64, abandon, stale bool) bool {
	p.mu.Lock()
	if p.forgotten || stale && p.kept == p.gen.Load() {
		p.mu.Unlock()
		return false
	}
	var (
		first    bool
		released int
	)
	if abandon {
		first = p.t.abandon(seq)
	} else {
		first, released = p.t.done(seq)
	}
	if first {
		p.bytes -= size
		p.finished++
	}
	if first && p.drained != nil && p.t.pending == 0 {
		close(p.drained)
		p.drained = nil
	}
	if first && p.waiting.len() > 0 {
		signal(p.wake) // room for what waits untracked, perhaps
	}
	p.mu.Unlock()
	if !first {
		return false
	}
	if !abandon {
		c.doneN.Add(1)
		if released > 0 {
			c.held.Add(-int64(released))
			signal(c.advanced)
		}
	}
	c.inFlightBytes.Add(-size)
	if c.inFlight.Add(-1) == 0 {
		signal(c.idle)
	}
	signal(c.room)
	return true
}

// signal leaves a token in ch, whose capacity is one, unless one is there.
// A send would find the token too and do nothing (chansend's first check);
// checking first spares the call, several per record.
func signal(ch chan struct{}) {
	if len(ch) > 0 {
		return
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// take removes the given partitions (all of them when all is set) from
// the tracked set and marks them gone, so that Run hands out none of their
// records; the periodic commit no longer sees them.
func (c *Consumer) take(which map[string][]int32, all bool) []*partition {
	c.mu.Lock()
	var out []*partition
	if all {
		for k, p := range c.parts {
			out = append(out, p)
			delete(c.parts, k)
		}
	} else {
		for topic, ps := range which {
			for _, n := range ps {
				k := tp{topic, n}
				if p := c.parts[k]; p != nil {
					out = append(out, p)
					delete(c.parts, k)
				}
			}
		}
	}
	c.assigned.Store(int64(len(c.parts)))
	c.mu.Unlock()
	for _, p := range out {
		p.mu.Lock()
		p.gone = true
		// What waits untracked is never handed out now (see admitLocked):
		// it stops taking room at once, not when its worker, perhaps
		// inside a handle call that blocks, next looks.
		c.dropWaitingLocked(p)
		p.mu.Unlock()
	}
	return out
}

// forget stops counting parts' records: what is still in flight no longer
// holds room, and its Done is ignored.
func (c *Consumer) forget(parts []*partition) {
	for _, p := range parts {
		p.mu.Lock()
		if p.forgotten {
			p.mu.Unlock()
			continue
		}
		p.forgotten = true
		p.disowned.Store(true)
		pending, held, bytes := p.t.pending, p.t.unreleased(), p.bytes
		p.bytes = 0
		if p.drained != nil {
			close(p.drained)
			p.drained = nil
		}
		p.mu.Unlock()
		signal(p.wake) // its worker drops what is queued and stops
		c.held.Add(-int64(held))
		c.inFlightBytes.Add(-bytes)
		if pending > 0 && c.inFlight.Add(-int64(pending)) == 0 {
			signal(c.idle)
		}
		signal(c.room)
	}
}

package consume

import "github.com/twmb/franz-go/pkg/kgo"

// tracker follows one partition's records from hand-out to Done and knows
// the offset that may be committed: the first record not yet done.
//
// Records are pushed in offset order and finish in any order. Slots live in
// a ring indexed by a sequence number; a Done at the head releases every
// consecutive done slot behind it, so each record is pushed, marked and
// released once: O(1) amortised, whatever the order of Done. It is not safe
// for concurrent use; the partition's mutex guards it.
type tracker struct {
	ring []slot // length a power of two
	head uint64 // sequence of the oldest slot not released
	tail uint64 // sequence the next push gets

	pending int   // pushed and not done
	pushed  int64 // offset of the last push; -1 before the first

	// last is what a commit sends: the offset after the last released
	// record, with that record's leader epoch (KIP-320).
	last     kgo.EpochOffset
	released bool
}

type slot struct {
	offset    int64
	at        int64 // when it was handed out, Unix nanoseconds
	epoch     int32
	done      bool
	abandoned bool // never done: holds the partition's commit here
}

func newTracker() tracker {
	return tracker{ring: make([]slot, 16), pushed: -1}
}

// push appends the record at offset, handed out at at (Unix nanoseconds);
// ok is false, and nothing changes, if the offset is not above every offset
// pushed before (a redelivery).
func (t *tracker) push(offset int64, epoch int32, at int64) (seq uint64, ok bool) {
	if offset <= t.pushed {
		return 0, false
	}
	if t.tail-t.head == uint64(len(t.ring)) {
		t.grow()
	}
	t.ring[t.tail&uint64(len(t.ring)-1)] = slot{offset: offset, at: at, epoch: epoch}
	seq = t.tail
	t.tail++
	t.pending++
	t.pushed = offset
	return seq, true
}

func (t *tracker) grow() {
	ring := make([]slot, 2*len(t.ring))
	mask := uint64(len(t.ring) - 1)
	for s := t.head; s < t.tail; s++ {
		ring[s&uint64(len(ring)-1)] = t.ring[s&mask]
	}
	t.ring = ring
}

// done marks the record at seq done. first is false if it already was (or
// seq is unknown); released is how many slots that made committable.
func (t *tracker) done(seq uint64) (first bool, released int) {
	if seq < t.head || seq >= t.tail {
		return false, 0
	}
	mask := uint64(len(t.ring) - 1)
	s := &t.ring[seq&mask]
	if s.done || s.abandoned {
		return false, 0
	}
	s.done = true
	t.pending--
	for t.head < t.tail {
		h := &t.ring[t.head&mask]
		if !h.done {
			break
		}
		t.last = kgo.EpochOffset{Epoch: h.epoch, Offset: h.offset + 1}
		t.released = true
		t.head++
		released++
	}
	return true, released
}

// abandon marks the record at seq as one that will never be done: it no
// longer counts as pending, and nothing at or after it becomes committable.
// It reports false if the record was already done or abandoned.
func (t *tracker) abandon(seq uint64) bool {
	if seq < t.head || seq >= t.tail {
		return false
	}
	s := &t.ring[seq&uint64(len(t.ring)-1)]
	if s.done || s.abandoned {
		return false
	}
	s.abandoned = true
	t.pending--
	return true
}

// hasAbandoned reports whether a slot not yet released was abandoned: then
// nothing at or after it ever becomes committable.
func (t *tracker) hasAbandoned() bool {
	mask := uint64(len(t.ring) - 1)
	for s := t.head; s < t.tail; s++ {
		if t.ring[s&mask].abandoned {
			return true
		}
	}
	return false
}

// committable returns the offset to commit: the next offset to read after
// the last record released. ok is false until a record is released.
func (t *tracker) committable() (eo kgo.EpochOffset, ok bool) {
	return t.last, t.released
}

// unreleased is how many slots are held: pushed and not yet committable.
func (t *tracker) unreleased() int { return int(t.tail - t.head) }

// next returns the first offset not done, for lag: the head's offset, or
// the committable offset when every pushed record is done.
func (t *tracker) next() (offset int64, ok bool) {
	if t.head < t.tail {
		return t.ring[t.head&uint64(len(t.ring)-1)].offset, true
	}
	return t.last.Offset, t.released
}

// oldest returns when the oldest pending record (pushed, neither done nor
// abandoned) was handed out; ok is false when none is pending. Records are
// pushed in hand-out order, so it is the first pending slot from the head.
func (t *tracker) oldest() (at int64, ok bool) {
	if t.pending == 0 {
		return 0, false
	}
	mask := uint64(len(t.ring) - 1)
	for s := t.head; s < t.tail; s++ {
		if sl := &t.ring[s&mask]; !sl.done && !sl.abandoned {
			return sl.at, true
		}
	}
	return 0, false
}

package consume

// waitQueue holds a partition's records polled and not yet tracked, oldest
// first (see worker.go). Taking from the front moves an index, not the
// slice: a slice resliced from the front loses the capacity before it, and
// a partition that waits takes a few records at a time while more come, so
// its queue would regrow (allocate and copy) every few polls. It is not safe
// for concurrent use; the partition's mutex guards it.
type waitQueue struct {
	recs []*Record // recs[head:] wait; recs[:head] are taken and nil
	head int
}

func (q *waitQueue) len() int { return len(q.recs) - q.head }

// all returns what waits, oldest first, until the queue next changes.
func (q *waitQueue) all() []*Record { return q.recs[q.head:] }

// push appends r. A full array at least half taken is compacted instead
// of grown: each record is then copied at most once on average, and the
// array grows only while more than half of it waits.
func (q *waitQueue) push(r *Record) {
	if len(q.recs) == cap(q.recs) && q.head > 0 && 2*q.head >= len(q.recs) {
		n := copy(q.recs, q.recs[q.head:])
		clear(q.recs[n:])
		q.recs, q.head = q.recs[:n], 0
	}
	q.recs = append(q.recs, r)
}

// take removes the n oldest. Once none waits, the array is kept for the
// next records to wait if it holds at most keep, and otherwise let go, so
// that a partition that once had many records waiting does not hold an
// array that size for good.
func (q *waitQueue) take(n, keep int) {
	clear(q.recs[q.head : q.head+n])
	q.head += n
	if q.head == len(q.recs) {
		q.reset(keep)
	}
}

// reset removes every record, keeping the array as take does.
func (q *waitQueue) reset(keep int) {
	if cap(q.recs) > keep {
		q.recs = nil
	} else {
		clear(q.recs[q.head:])
		q.recs = q.recs[:0]
	}
	q.head = 0
}

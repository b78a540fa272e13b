package pipeline

import (
	"sync/atomic"

	"github.com/optikpi/optikpi-relay/internal/consume"
)

// finisher finishes the outputs of a consumed record: the record itself
// when it has one, a fanout when it has several.
type finisher interface {
	Done()
	Abandon()
}

// fanout finishes a record of several outputs: done once every output is
// delivered or dead-lettered, abandoned as soon as one is abandoned, so
// that the next owner of its partition relays the record, every output of
// it, again (an output already delivered goes twice, with the same
// event_id, as any record relayed again does).
type fanout struct {
	r    *consume.Record
	left atomic.Int32
}

// finisherOf returns f, or r when f is nil: r is not fanned out.
func finisherOf(r *consume.Record, f *fanout) finisher {
	if f != nil {
		return f
	}
	return r
}

func newFanout(r *consume.Record, outputs int) *fanout {
	f := &fanout{r: r}
	f.left.Store(int32(outputs))
	return f
}

// Done finishes one output; the last makes the record done. A Done after
// Abandon is ignored by the record.
func (f *fanout) Done() {
	if f.left.Add(-1) == 0 {
		f.r.Done()
	}
}

// Abandon abandons the record at once: it will never be committed, and its
// partition's close need not wait for the other outputs.
func (f *fanout) Abandon() { f.r.Abandon() }

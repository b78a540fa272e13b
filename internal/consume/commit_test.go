package consume

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestCommitOnDone: done records are committed as soon as their offset
// becomes committable, not at the next CommitInterval, so a kill right
// after re-sends none of them.
func TestCommitOnDone(t *testing.T) {
	const n = 10
	// An interval no test outlives: only an advance can start a commit.
	e, a, s, waitA := holding(t, 1, n, Options{CommitInterval: time.Hour})
	recs := s.all()
	// Done in reverse: the last Done releases every record at once, so
	// that one commit takes them all.
	for i := len(recs) - 1; i >= 0; i-- {
		recs[i].Done()
	}
	waitFor(t, "the done records committed", func() (bool, string) {
		got := e.committed("g")
		return got[0] == n, fmt.Sprint(got)
	})
	a.Abort()
	waitA()

	b := e.consumer("g", Options{})
	sb := newSink()
	waitB := run(t, b, func(ctx context.Context, r *Record) { sb.handle(ctx, r); r.Done() })
	e.produce(1, 1) // one new record, offset n
	waitFor(t, "the new record", func() (bool, string) { return sb.count() >= 1, fmt.Sprint(sb.offsets(0)) })
	closeOK(t, b)
	waitB()
	if got, want := sb.offsets(0), []int64{n}; !slices.Equal(got, want) {
		t.Errorf("after the kill the next member got offsets %v, want %v (none re-sent)", got, want)
	}
}

package consume

import (
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestAdmitConcurrentRespectsHalfAndShares has two partitions' workers
// admit what waits for them at the same time, with nothing in flight. The
// package's rule (worker.go) lets records in flight past half of
// MaxInFlight only while each partition stays below its share, so both
// together may take at most half, plus one share, plus a record each for
// the load-then-add race. A worker that counts its admissions only after
// its loop hides them from the other, and each takes half of MaxInFlight.
func TestAdmitConcurrentRespectsHalfAndShares(t *testing.T) {
	const (
		parts   = 8
		maxIn   = 16000
		waiting = 12000
		rounds  = 20
	)
	for round := range rounds {
		c := newBareConsumer(maxIn, 10*maxIn, 1<<40)
		ps := make([]*partition, parts)
		c.mu.Lock()
		for i := range ps {
			ps[i] = c.partitionLocked("t", int32(i))
		}
		c.mu.Unlock()
		for _, p := range ps[:2] {
			krs := make([]kgo.Record, waiting)
			rs := make([]Record, waiting)
			p.mu.Lock()
			for j := range krs {
				krs[j].Offset = int64(j)
				rs[j] = Record{Record: &krs[j], c: c, p: p, size: 1}
				c.waitLocked(p, &rs[j], 1)
			}
			p.mu.Unlock()
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, p := range ps[:2] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p.mu.Lock()
				c.admitLocked(p)
				p.mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		records, _ := c.shares()
		if got, want := c.inFlight.Load(), int64(maxIn/2)+records+2; got > want {
			t.Fatalf("round %d: %d in flight after two partitions admitted at once (%d and %d), want at most %d (half of MaxInFlight %d, one share %d, one each)",
				round, got, ps[0].t.pending, ps[1].t.pending, want, maxIn, records)
		}
	}
}

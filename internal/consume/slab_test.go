package consume

import (
	"context"
	"runtime"
	"testing"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestHeldRecordKeepsLittle polls one partition a poll's worth at a time,
// each poll made of small Kafka batches as kgo decodes them (a []kgo.Record
// and a value buffer per batch), and has a destination hold one record of
// each poll while the rest is Done. What stays live must be about the held
// records' slabs and batches, not every record of every poll: a few held
// records per poll would otherwise keep up to MaxUncommitted records, far
// past MaxInFlightBytes, with a few of them in flight.
func TestHeldRecordKeepsLittle(t *testing.T) {
	const (
		polls     = 40
		batchRecs = 16
		value     = 1024
	)
	c := newBareConsumer(DefaultMaxInFlight, 10*DefaultMaxInFlight, DefaultMaxInFlightBytes)
	ctx := context.Background()
	h := &hands{ctx: ctx}
	c.mu.Lock()
	p := c.partitionLocked("t", 0)
	p.working = true // the test is its worker
	c.mu.Unlock()
	pollN := int(c.pollSize()) / batchRecs * batchRecs
	held := make([]*Record, 0, polls)
	off := int64(0)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for range polls {
		fs := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "t", Partitions: []kgo.FetchPartition{{Partition: 0}}}}}}
		fp := &fs[0].Topics[0].Partitions[0]
		for range pollN / batchRecs {
			krs := make([]kgo.Record, batchRecs)
			buf := make([]byte, batchRecs*value)
			for i := range krs {
				krs[i].Offset = off
				off++
				krs[i].Value = buf[i*value : (i+1)*value]
				fp.Records = append(fp.Records, &krs[i])
			}
		}
		batch, err := c.accept(fs, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.handOut(ctx, h, batch)
		p.mu.Lock()
		c.admitLocked(p)
		q := p.queue
		p.queue = nil
		p.mu.Unlock()
		if len(q) != pollN {
			t.Fatalf("%d records queued, want %d", len(q), pollN)
		}
		keep := len(q) / 2
		for i, r := range q {
			if i != keep {
				r.Done()
			}
		}
		held = append(held, q[keep])
	}
	runtime.GC()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perRecord := int64(value + unsafe.Sizeof(kgo.Record{}) + unsafe.Sizeof(Record{}))
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// Generous: what a held record keeps through kgo alone is its batch.
	want := int64(polls) * 8 * batchRecs * perRecord
	if live > want {
		t.Errorf("%d records held, one of each poll of %d: %d KiB live (%d KiB a held record), want at most %d KiB (%d records' worth of each poll)",
			len(held), pollN, live>>10, live/polls>>10, want>>10, 8*batchRecs)
	}
	t.Logf("%d KiB live, %d KiB a held record (a record with its kgo.Record: %d B)", live>>10, live/polls>>10, perRecord)
	runtime.KeepAlive(held)
}

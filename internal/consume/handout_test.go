package consume

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// BenchmarkHandOut measures a record's way through the consumer between
// kgo's fetch and the handler, and back through Done, per record: Run's
// accept and hand-out of a poll's records (handOut), waiting untracked when its
// partition has no room, tracked by the worker as room comes (admitLocked),
// and Done in the sink's batches of 500, oldest first. It plays Run, the
// workers and a sink slower than Kafka on one goroutine, so that it is
// deterministic: polls while there is room, and otherwise the sink
// acknowledges a batch; the in-flight bound is then reached, as in a
// backlog, and a good part of the records wait.
func BenchmarkHandOut(b *testing.B) {
	const (
		parts   = 6
		ackSize = 500
		value   = 200
	)
	c := newBareConsumer(DefaultMaxInFlight, 2*DefaultMaxInFlight, DefaultMaxInFlightBytes)
	ctx := context.Background()
	h := &hands{ctx: ctx}
	ps := make([]*partition, parts)
	// kgo's records, reused round the ring: fewer than ring per partition
	// are ever tracked or waiting at once.
	ring := 2 * c.opts.MaxInFlight
	krs := make([][]kgo.Record, parts)
	c.mu.Lock()
	for i := range ps {
		ps[i] = c.partitionLocked("t", int32(i))
		ps[i].working = true // the benchmark is its worker
		krs[i] = make([]kgo.Record, ring)
		for j := range krs[i] {
			krs[i][j].Value = make([]byte, value)
		}
	}
	c.mu.Unlock()
	var (
		offs    [parts]int64
		batch   []*Record
		fs      = kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "t", Partitions: make([]kgo.FetchPartition, 1)}}}}
		acks    []*Record
		npolled int
		polls   int
		waited  int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	for c.doneN.Load() < int64(b.N) {
		if room := min(c.pollRoom(), c.pollSize(), int64(b.N-npolled)); room > 0 {
			// A poll, from one partition: kgo returns a fetch's
			// partitions one after another, each with up to a
			// FetchMaxPartitionBytes of records.
			i := polls % parts
			polls++
			fp := &fs[0].Topics[0].Partitions[0]
			fp.Partition, fp.Records = int32(i), fp.Records[:0]
			for range room {
				kr := &krs[i][offs[i]%int64(ring)]
				kr.Offset = offs[i]
				offs[i]++
				fp.Records = append(fp.Records, kr)
			}
			npolled += int(room)
			var err error
			if batch, err = c.accept(fs, batch[:0]); err != nil {
				b.Fatal(err)
			}
			before := c.waitingN.Load()
			c.handOut(ctx, h, batch)
			waited += c.waitingN.Load() - before
		} else {
			n := min(ackSize, len(acks))
			for i, r := range acks[:n] {
				r.Done()
				acks[i] = nil
			}
			acks = append(acks[:0], acks[n:]...)
		}
		for _, p := range ps {
			p.mu.Lock()
			c.admitLocked(p)
			acks = append(acks, p.queue...)
			clear(p.queue)
			p.queue = p.queue[:0]
			p.mu.Unlock()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(waited)/float64(b.N), "waited/op")
	if c.inFlight.Load() != 0 || c.waitingN.Load() != 0 || len(acks) != 0 {
		b.Fatalf("%d in flight, %d waiting, %d to ack; want none", c.inFlight.Load(), c.waitingN.Load(), len(acks))
	}
}

// newBareConsumer is a Consumer without a Kafka client, with these bounds,
// for tests that play Run and the workers on their own goroutines.
func newBareConsumer(maxInFlight, maxUncommitted int, maxInFlightBytes int64) *Consumer {
	c := &Consumer{log: zap.NewNop(), parts: make(map[tp]*partition), room: make(chan struct{}, 1), idle: make(chan struct{}, 1), advanced: make(chan struct{}, 1)}
	c.opts.MaxInFlight, c.opts.MaxUncommitted, c.opts.MaxInFlightBytes = maxInFlight, maxUncommitted, maxInFlightBytes
	return c
}

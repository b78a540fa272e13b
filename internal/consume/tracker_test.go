package consume

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

func TestTracker(t *testing.T) {
	type want struct {
		commit  int64 // -1: nothing committable
		pending int
		held    int
	}
	tests := []struct {
		name    string
		offsets []int64 // pushed in this order
		done    []int   // indexes into offsets, Done in this order
		want    want
		abandon []int // indexes into offsets, abandoned before the Dones
	}{
		{"nothing", nil, nil, want{-1, 0, 0}, nil},
		{"pushed, none done", []int64{0, 1, 2}, nil, want{-1, 3, 3}, nil},
		{"in order", []int64{0, 1, 2}, []int{0, 1, 2}, want{3, 0, 0}, nil},
		{"head not done", []int64{0, 1, 2}, []int{1, 2}, want{-1, 1, 3}, nil},
		{"middle not done", []int64{0, 1, 2, 3}, []int{0, 3, 2}, want{1, 1, 3}, nil},
		{"reverse", []int64{5, 6, 7, 8}, []int{3, 2, 1, 0}, want{9, 0, 0}, nil},
		{"gaps in offsets", []int64{10, 13, 20}, []int{0, 1}, want{14, 1, 1}, nil},
		{"double done", []int64{0, 1}, []int{1, 1, 0, 0}, want{2, 0, 0}, nil},
		{"redelivery ignored", []int64{4, 5, 5, 3, 6}, []int{0, 1, 4}, want{7, 0, 0}, nil},
		{"grows past 16", seqOffsets(0, 40), seqIndexes(1, 40), want{-1, 1, 40}, nil},
		{"grows then drains", seqOffsets(0, 40), append(seqIndexes(1, 40), 0), want{40, 0, 0}, nil},
		{"abandoned holds the commit", []int64{0, 1, 2, 3}, []int{0, 2, 3}, want{1, 0, 3}, []int{1}},
		{"done after abandon ignored", []int64{0, 1}, []int{0, 1}, want{-1, 0, 2}, []int{0}},
		{"abandon after done ignored", []int64{0, 1}, []int{0, 1}, want{2, 0, 0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker()
			seqs := make([]uint64, len(tt.offsets))
			ok := make([]bool, len(tt.offsets))
			for i, o := range tt.offsets {
				seqs[i], ok[i] = tr.push(o, 1, 0)
			}
			for _, i := range tt.abandon {
				tr.abandon(seqs[i])
			}
			for _, i := range tt.done {
				if ok[i] {
					tr.done(seqs[i])
				}
			}
			if tt.name == "abandon after done ignored" && tr.abandon(seqs[0]) {
				t.Error("abandon after done reported true")
			}
			got := want{-1, tr.pending, tr.unreleased()}
			if eo, ok := tr.committable(); ok {
				got.commit = eo.Offset
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTrackerDoneReports(t *testing.T) {
	tr := newTracker()
	a, _ := tr.push(0, 0, 0)
	b, _ := tr.push(1, 0, 0)
	c, _ := tr.push(2, 0, 0)
	steps := []struct {
		seq      uint64
		first    bool
		released int
	}{
		{c, true, 0},
		{b, true, 0},
		{b, false, 0},
		{a, true, 3},
		{a, false, 0},
		{99, false, 0},
	}
	for i, s := range steps {
		first, released := tr.done(s.seq)
		if first != s.first || released != s.released {
			t.Errorf("step %d: done(%d) = %v, %d; want %v, %d", i, s.seq, first, released, s.first, s.released)
		}
	}
}

// TestTrackerRandom checks the committable offset against a plain model
// under random completion orders: never past a record not done, and every
// done prefix committed.
func TestTrackerRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		n := 1 + rng.IntN(300)
		tr := newTracker()
		offsets := make([]int64, n)
		seqs := make([]uint64, n)
		off := int64(rng.IntN(1000))
		for i := range n {
			off += 1 + int64(rng.IntN(3)) // compaction leaves gaps
			offsets[i] = off
			seqs[i], _ = tr.push(off, int32(i/50), 0)
		}
		done := make([]bool, n)
		for _, i := range rng.Perm(n) {
			tr.done(seqs[i])
			done[i] = true
			want := int64(-1)
			for j := range n {
				if !done[j] {
					break
				}
				want = offsets[j] + 1
			}
			got := int64(-1)
			if eo, ok := tr.committable(); ok {
				got = eo.Offset
			}
			if got != want {
				t.Fatalf("round %d: after done %v: committable %d, want %d", round, done, got, want)
			}
		}
		if tr.pending != 0 || tr.unreleased() != 0 {
			t.Fatalf("round %d: pending %d, held %d after all done", round, tr.pending, tr.unreleased())
		}
	}
}

func seqOffsets(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i)
	}
	return out
}

func seqIndexes(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// BenchmarkTracker measures push plus Done per record with Done out of order
// inside a window, the shape the sink's batches and retries produce.
func BenchmarkTracker(b *testing.B) {
	for _, window := range []int{1, 500, 10000} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) {
			tr := newTracker()
			perm := rand.New(rand.NewPCG(3, 4)).Perm(window)
			seqs := make([]uint64, window)
			b.ReportAllocs()
			b.ResetTimer()
			var off int64
			for n := 0; n < b.N; n += window {
				for i := range seqs {
					seqs[i], _ = tr.push(off, 0, 0)
					off++
				}
				for _, i := range perm {
					tr.done(seqs[i])
				}
			}
			if tr.pending != 0 {
				b.Fatalf("%d pending", tr.pending)
			}
		})
	}
}

// BenchmarkTrackDone measures a record's way through the consumer's
// bookkeeping outside Kafka: tracked and counted as Run pushes it and
// finished by Done, in batches of 500 acknowledged in order, as the sink
// acknowledges a batch.
func BenchmarkTrackDone(b *testing.B) {
	const batch = 500
	c := &Consumer{log: zap.NewNop(), room: make(chan struct{}, 1), idle: make(chan struct{}, 1), advanced: make(chan struct{}, 1)}
	c.opts.MaxInFlight, c.opts.MaxInFlightBytes = 2*batch, 1<<30
	p := newPartition("t", 0)
	krs := make([]kgo.Record, batch)
	recs := make([]*Record, 0, batch)
	var (
		off  int64
		slab []Record
	)
	b.ReportAllocs()
	for b.Loop() {
		kr := &krs[off%batch]
		kr.Offset = off
		if off%batch == 0 { // as accept allocates a poll's records
			slab = make([]Record, batch)
		}
		r := &slab[off%batch]
		*r = Record{Record: kr, c: c, p: p, size: 100}
		off++
		p.mu.Lock()
		ok := c.trackLocked(r, 1)
		p.mu.Unlock()
		if !ok {
			b.Fatalf("offset %d not tracked", kr.Offset)
		}
		if recs = append(recs, r); len(recs) == batch {
			for i, r := range recs {
				r.Done()
				recs[i] = nil
			}
			recs = recs[:0]
		}
	}
	// Every record finished was done and released: only the unfinished
	// batch is held from a commit.
	if done, held := c.doneN.Load(), c.held.Load(); done != off-int64(len(recs)) || held != int64(len(recs)) {
		b.Fatalf("%d records done, %d held; want %d and %d", done, held, off-int64(len(recs)), len(recs))
	}
}

package emulator

import (
	"sync/atomic"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// DelayStats summarise, over the accepted records that carry an event_time,
// how long after that time each arrived, in milliseconds. When the sender
// stamps event_time as it produces, this is produce-to-acknowledgement.
type DelayStats struct {
	Count int64   `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// delayHistogram counts delays in buckets of 1 ms below 1 s, then 10 ms
// below 10 s, 100 ms below 100 s and 1 s below 1000 s, so a quantile is
// within 1% of the truth; beyond 1000 s all share the last bucket. Adding
// is lock-free.
type delayHistogram struct {
	buckets [delayBuckets]atomic.Int64
	max     atomic.Int64 // ms
	seen    atomic.Uint64
}

// delaySample is the share of records measured, one in so many in arrival
// order: quantiles need far fewer than a benchmark sends, and each
// measurement costs the emulator, which shares the machine with the relay,
// about half as much again as accepting a record.
const delaySample = 8

const delayBuckets = 1000 + 3*900 + 1

// delayBucket returns the bucket of a delay of ms milliseconds.
func delayBucket(ms int64) int {
	switch {
	case ms < 1000:
		return int(max(ms, 0))
	case ms < 10_000:
		return 1000 + int((ms-1000)/10)
	case ms < 100_000:
		return 1900 + int((ms-10_000)/100)
	case ms < 1_000_000:
		return 2800 + int((ms-100_000)/1000)
	}
	return delayBuckets - 1
}

// bucketFloor is the least delay in ms of bucket i.
func bucketFloor(i int) int64 {
	switch {
	case i < 1000:
		return int64(i)
	case i < 1900:
		return 1000 + int64(i-1000)*10
	case i < 2800:
		return 10_000 + int64(i-1900)*100
	}
	return 100_000 + int64(i-2800)*1000
}

func (h *delayHistogram) add(ms int64) {
	ms = max(ms, 0)
	h.buckets[delayBucket(ms)].Add(1)
	for m := h.max.Load(); ms > m && !h.max.CompareAndSwap(m, ms); m = h.max.Load() {
	}
}

// counts returns a copy of the buckets and the maximum.
func (h *delayHistogram) counts() (c [delayBuckets]int64, maxMs int64) {
	for i := range h.buckets {
		c[i] = h.buckets[i].Load()
	}
	return c, h.max.Load()
}

func (h *delayHistogram) reset() {
	for i := range h.buckets {
		h.buckets[i].Store(0)
	}
	h.max.Store(0)
	h.seen.Store(0)
}

// summarize turns bucket counts into DelayStats.
func summarize(c *[delayBuckets]int64, maxMs int64) DelayStats {
	var s DelayStats
	for _, n := range c {
		s.Count += n
	}
	if s.Count == 0 {
		return s
	}
	s.MaxMs = float64(maxMs)
	s.P50Ms = float64(quantile(c, s.Count, 0.50))
	s.P99Ms = float64(quantile(c, s.Count, 0.99))
	return s
}

func quantile(c *[delayBuckets]int64, total int64, q float64) int64 {
	rank := int64(q*float64(total) + 0.5)
	rank = max(rank, 1)
	var seen int64
	for i, n := range c {
		if seen += n; seen >= rank {
			return bucketFloor(i)
		}
	}
	return bucketFloor(delayBuckets - 1)
}

// trackDelays adds the delay of every delaySample-th record, counting across
// requests so no position in a batch is favoured, that has an RFC 3339
// event_time.
func (h *delayHistogram) trackDelays(recs []record, now time.Time) {
	first := h.seen.Add(uint64(len(recs))) - uint64(len(recs))
	for i := (delaySample - first%delaySample) % delaySample; i < uint64(len(recs)); i += delaySample {
		tok := recs[i].stringField(fieldEventTime)
		if tok == nil {
			continue
		}
		t, err := optikpi.ParseRFC3339(unquote(tok))
		if err != nil {
			continue
		}
		h.add(now.Sub(t).Milliseconds())
	}
}

package consume

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultMaxInFlightBytes is the default of Options.MaxInFlightBytes.
const DefaultMaxInFlightBytes = 64 << 20

// recordBytes is what a record holds beyond its fixed fields: its key,
// value and headers. It is what MaxInFlightBytes counts.
func recordBytes(r *kgo.Record) int64 {
	n := int64(len(r.Key) + len(r.Value))
	for _, h := range r.Headers {
		n += int64(len(h.Key) + len(h.Value))
	}
	return n
}

// fetchBytes sizes one fetch from the byte bound: a quarter of it, at most
// DefaultFetchMaxBytes. It is what is fetched beyond the records in flight:
// Run polls only below the bound and hands a poll's records out only as
// room comes. A batch larger than this still comes whole (a broker always
// returns the first batch), so no record is too large to pass.
func fetchBytes(maxInFlight int64) int32 {
	return int32(max(1, min(DefaultFetchMaxBytes, maxInFlight/4)))
}

// fetchOpts are the fetch options o implies, its defaults filled: what
// one fetch brings, in total and per partition, how long a broker may hold
// it, and how many fetches may be in flight.
func fetchOpts(o *Options) []kgo.Opt {
	b := o.FetchMaxBytes
	opts := []kgo.Opt{kgo.FetchMaxBytes(b), kgo.FetchMaxPartitionBytes(min(b, o.FetchMaxPartitionBytes)), kgo.FetchMaxWait(o.FetchMaxWait)}
	if o.MaxConcurrentFetches > 0 {
		opts = append(opts, kgo.MaxConcurrentFetches(o.MaxConcurrentFetches))
	}
	return opts
}

// waitBytes waits while the records in flight hold MaxInFlightBytes or
// more, so that one poll's records are handed out only as room comes and
// the records in flight exceed the bound by at most one record. It reports
// whether it waited, and ok false, at once, when ctx is done.
func (c *Consumer) waitBytes(ctx context.Context) (waited, ok bool) {
	for ctx.Err() == nil && c.overBytes() {
		c.waitRoom(ctx)
		waited = true
	}
	return waited, ctx.Err() == nil
}

// overBytes reports whether the records handed out and not finished, with
// those waiting untracked (see worker.go), hold MaxInFlightBytes or more;
// Run then waits for room. With nothing in flight it is false, so a record
// larger than the bound still passes, alone.
func (c *Consumer) overBytes() bool {
	return c.inFlightBytes.Load()+c.waitingB.Load() >= c.opts.MaxInFlightBytes
}

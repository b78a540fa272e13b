package dlq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// SourceKey is where an original record was: every dead letter of the same
// record, however often it was written, has the same SourceKey.
type SourceKey struct {
	Topic     string
	Partition int32
	Offset    int64
}

// String returns "topic/partition/offset", the form ParseSourceKey reads.
func (k SourceKey) String() string {
	return k.Topic + "/" + strconv.FormatInt(int64(k.Partition), 10) + "/" + strconv.FormatInt(k.Offset, 10)
}

// ParseSourceKey reads "topic/partition/offset". A Kafka topic name cannot
// contain '/', so the form is unambiguous.
func ParseSourceKey(s string) (SourceKey, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 || parts[0] == "" {
		return SourceKey{}, fmt.Errorf("source %q: want TOPIC/PARTITION/OFFSET", s)
	}
	p, err := strconv.ParseInt(parts[1], 10, 32)
	if err != nil || p < 0 {
		return SourceKey{}, fmt.Errorf("source %q: partition %q is not a partition number", s, parts[1])
	}
	o, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || o < 0 {
		return SourceKey{}, fmt.Errorf("source %q: offset %q is not an offset", s, parts[2])
	}
	return SourceKey{Topic: parts[0], Partition: int32(p), Offset: o}, nil
}

// Letter is one record of the dead-letter topic as read back.
type Letter struct {
	// Entry is the dead letter parsed; its Source holds the original
	// record with its original coordinates. Zero when Err is set.
	Entry
	// Partition and Offset are where the dead letter itself is in the
	// dead-letter topic; Timestamp is its Kafka timestamp.
	Partition int32
	Offset    int64
	Timestamp time.Time
	// Err is why the record could not be read as a dead letter
	// (ErrNotDeadLetter, ErrMalformed); such a record is still reported,
	// never skipped silently.
	Err error
	// Record is the dead letter as read, with the relay's headers: the
	// only copy of an unreadable letter's bytes.
	Record *kgo.Record
}

// End is how far Read read a partition of the dead-letter topic: up to,
// not including, Offset.
type End struct {
	Partition int32
	Offset    int64
}

// idleTimeout is how long Read waits for a partition it still expects
// records from before it asks whether they are still there: retention may
// have deleted them meanwhile. Records that are there but do not come (a
// compacted tail, a broker that stopped answering) end Read with
// ErrIncomplete rather than a count that silently falls short.
const idleTimeout = 10 * time.Second

// ErrIncomplete is returned by Read when records it expected stopped
// coming: what fn was given is not the whole topic.
var ErrIncomplete = errors.New("dlq: dead-letter topic read incompletely")

// Read calls fn with every record of the dead-letter topic topic, from the
// start of each partition to the end offset it has when Read begins, in each
// partition's order (partitions interleave). It uses its own client, made
// from opts (brokers, TLS, SASL), consumes without a group and commits
// nothing. It returns the ends it read up to, and the first error of fn, of
// ctx or of Kafka, or ErrIncomplete.
func Read(ctx context.Context, opts []kgo.Opt, topic string, fn func(*Letter) error) ([]End, error) {
	admCl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	adm := kadm.NewClient(admCl)
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	var ends kadm.ListedOffsets
	if err == nil {
		ends, err = adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
	}
	admCl.Close()
	if err != nil {
		return nil, fmt.Errorf("dlq: reading the offsets of %q: %w", topic, err)
	}
	if len(ends[topic]) == 0 {
		return nil, fmt.Errorf("dlq: topic %q: %w", topic, kerr.UnknownTopicOrPartition)
	}

	from := map[int32]kgo.Offset{}
	want := map[int32]int64{} // partition -> end offset still to reach
	var out []End
	for p, e := range ends[topic] {
		out = append(out, End{Partition: p, Offset: e.Offset})
		s := starts[topic][p].Offset
		if e.Offset > s {
			from[p] = kgo.NewOffset().At(s)
			want[p] = e.Offset
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	// Clipped: appending must not write into the caller's array.
	cl, err := kgo.NewClient(append(slices.Clip(opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: from}),
	)...)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	defer cl.Close()
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, idleTimeout)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if fs.IsClientClosed() {
			return out, errors.New("dlq: client closed")
		}
		progressed := false
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return out, fmt.Errorf("dlq: reading %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := want[r.Partition]
			if !ok || ferr != nil {
				return
			}
			if r.Offset >= end {
				// The offsets before end are gone (compacted, or
				// aborted transactions): nothing more to wait for.
				delete(want, r.Partition)
				return
			}
			progressed = true
			l := &Letter{Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, Record: r}
			l.Entry, l.Err = Parse(r)
			if ferr = fn(l); ferr != nil {
				return
			}
			if r.Offset+1 >= end {
				delete(want, r.Partition)
			}
		})
		if ferr != nil {
			return out, ferr
		}
		if !progressed && len(fs.Records()) == 0 {
			if err := dropDeleted(ctx, cl, topic, want); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// dropDeleted removes from want the partitions whose records up to their
// end were deleted since Read started, and reports the others as
// ErrIncomplete.
func dropDeleted(ctx context.Context, cl *kgo.Client, topic string, want map[int32]int64) error {
	starts, err := kadm.NewClient(cl).ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("dlq: reading the offsets of %q: %w", topic, err)
	}
	var stuck []string
	for p, end := range want {
		if s, ok := starts.Lookup(topic, p); ok && s.Offset >= end {
			delete(want, p)
			continue
		}
		stuck = append(stuck, fmt.Sprintf("partition %d (end %d)", p, end))
	}
	if len(stuck) > 0 {
		slices.Sort(stuck)
		return fmt.Errorf("%w: no record for %v from %s", ErrIncomplete, idleTimeout, strings.Join(stuck, ", "))
	}
	return nil
}

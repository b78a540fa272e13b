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

// idleTimeout is how long ReadRanges waits for a partition it still
// expects records from before it asks whether they are still there:
// retention may have deleted them meanwhile. Records that are there but do
// not come (a broker that stopped answering) end it with ErrIncomplete
// rather than a count that silently falls short.
const idleTimeout = 10 * time.Second

// ErrIncomplete is returned by Read and ReadRanges when records they
// expected stopped coming: what fn was given is not the whole range.
var ErrIncomplete = errors.New("dlq: topic read incompletely")

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
	var out []End
	var ranges []Range
	for p, e := range ends[topic] {
		out = append(out, End{Partition: p, Offset: e.Offset})
		ranges = append(ranges, Range{Topic: topic, Partition: p, From: starts[topic][p].Offset, To: e.Offset})
	}
	err = ReadRanges(ctx, opts, ranges, func(r *kgo.Record) error {
		l := &Letter{Partition: r.Partition, Offset: r.Offset, Timestamp: r.Timestamp, Record: r}
		l.Entry, l.Err = Parse(r)
		return fn(l)
	})
	return out, err
}

// Range is the records of one partition from From up to, not including,
// To.
type Range struct {
	Topic     string
	Partition int32
	From, To  int64
}

// ReadRanges calls fn with every record of ranges, in each partition's
// order (partitions interleave). It uses its own client, made from opts,
// consumes without a group and commits nothing. Offsets that are gone
// (compacted, deleted by retention meanwhile, transaction markers) are
// passed over; records that are there but stop coming end it with
// ErrIncomplete. It returns the first error of fn, of ctx or of Kafka, or
// ErrIncomplete.
func ReadRanges(ctx context.Context, opts []kgo.Opt, ranges []Range, fn func(*kgo.Record) error) error {
	from := map[string]map[int32]kgo.Offset{}
	want := map[partition]int64{} // end offset still to reach
	for _, r := range ranges {
		if r.To <= r.From {
			continue
		}
		if from[r.Topic] == nil {
			from[r.Topic] = map[int32]kgo.Offset{}
		}
		from[r.Topic][r.Partition] = kgo.NewOffset().At(r.From)
		want[partition{r.Topic, r.Partition}] = r.To
	}
	if len(want) == 0 {
		return nil
	}
	// Clipped: appending must not write into the caller's array. Control
	// records are kept so that a range ending in a transaction marker
	// reaches its end rather than waiting for a record that never comes.
	cl, err := kgo.NewClient(append(slices.Clip(opts), kgo.ConsumePartitions(from), kgo.KeepControlRecords())...)
	if err != nil {
		return fmt.Errorf("dlq: %w", err)
	}
	defer cl.Close()
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, idleTimeout)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		if fs.IsClientClosed() {
			return errors.New("dlq: client closed")
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("dlq: reading %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		progressed := false
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			k := partition{r.Topic, r.Partition}
			end, ok := want[k]
			if !ok || ferr != nil {
				return
			}
			progressed = true
			if r.Offset >= end {
				// The offsets before end are gone (compacted, or
				// aborted transactions): nothing more to wait for.
				delete(want, k)
				return
			}
			if !r.Attrs.IsControl() {
				if ferr = fn(r); ferr != nil {
					return
				}
			}
			if r.Offset+1 >= end {
				delete(want, k)
			}
		})
		if ferr != nil {
			return ferr
		}
		if !progressed {
			if err := dropDeleted(ctx, cl, want); err != nil {
				return err
			}
		}
	}
	return nil
}

// partition names a partition of a topic.
type partition struct {
	topic string
	part  int32
}

// dropDeleted removes from want the partitions whose records up to their
// end were deleted since ReadRanges started, and reports the others as
// ErrIncomplete.
func dropDeleted(ctx context.Context, cl *kgo.Client, want map[partition]int64) error {
	var topics []string
	for k := range want {
		if !slices.Contains(topics, k.topic) {
			topics = append(topics, k.topic)
		}
	}
	starts, err := kadm.NewClient(cl).ListStartOffsets(ctx, topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("dlq: reading the offsets of %v: %w", topics, err)
	}
	var stuck []string
	for k, end := range want {
		if s, ok := starts.Lookup(k.topic, k.part); ok && s.Offset >= end {
			delete(want, k)
			continue
		}
		stuck = append(stuck, fmt.Sprintf("%s partition %d (end %d)", k.topic, k.part, end))
	}
	if len(stuck) > 0 {
		slices.Sort(stuck)
		return fmt.Errorf("%w: no record for %v from %s", ErrIncomplete, idleTimeout, strings.Join(stuck, ", "))
	}
	return nil
}

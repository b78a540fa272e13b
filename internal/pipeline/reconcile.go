package pipeline

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Gap is a partition whose committed offset is behind its end offset.
type Gap struct {
	Topic     string
	Partition int32
	Committed int64 // -1 when the group has no commit for the partition
	End       int64
}

func (g Gap) String() string {
	return fmt.Sprintf("%s[%d]: committed %d, end %d", g.Topic, g.Partition, g.Committed, g.End)
}

// Uncommitted lists the partitions of topics whose committed offset in group
// is not their end offset. None means every record was committed.
func Uncommitted(ctx context.Context, adm *kadm.Client, group string, topics []string) ([]Gap, error) {
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	var gaps []Gap
	var listErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			listErr = fmt.Errorf("end offset of %s[%d]: %w", o.Topic, o.Partition, o.Err)
			return
		}
		at := int64(-1)
		if c, ok := committed.Lookup(o.Topic, o.Partition); ok && c.Err == nil {
			at = c.At
		}
		if o.Offset == 0 && at == -1 {
			return // an empty partition needs no commit
		}
		if at != o.Offset {
			gaps = append(gaps, Gap{Topic: o.Topic, Partition: o.Partition, Committed: at, End: o.Offset})
		}
	})
	sort.Slice(gaps, func(i, j int) bool {
		if gaps[i].Topic != gaps[j].Topic {
			return gaps[i].Topic < gaps[j].Topic
		}
		return gaps[i].Partition < gaps[j].Partition
	})
	return gaps, listErr
}

package replay

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/dlq"
)

// Item is one selected source record with all its dead letters.
type Item struct {
	// Letter is the latest dead letter of the source record (by offset
	// within a partition, else by write time, see later): its last error.
	// Replays, not Letter, gives the replay count.
	Letter *dlq.Letter
	// Letters are every selected dead letter of the source record,
	// Letter among them, in the order read.
	Letters []*dlq.Letter
}

// Outputs names the outputs of a fan-out route to send again: those its
// letters name, oldest first. nil means every output the record maps to:
// a letter naming none (the whole record failed, or its route had no
// outputs) asks for the whole record, and a later letter naming one came
// from replaying it, so it narrows the record to what failed then.
func (it *Item) Outputs() []string {
	ls := slices.Clone(it.Letters)
	slices.SortStableFunc(ls, func(a, b *dlq.Letter) int {
		switch {
		case later(a, b):
			return 1
		case later(b, a):
			return -1
		}
		return 0
	})
	var names []string
	for _, l := range ls {
		switch {
		case l.Output == "":
			names = nil
		case !slices.Contains(names, l.Output):
			names = append(names, l.Output)
		}
	}
	return names
}

// Replays is the highest replay count of the item's letters.
func (it *Item) Replays() int {
	n := 0
	for _, l := range it.Letters {
		n = max(n, l.Replays)
	}
	return n
}

// Selection is what a filter selects from the dead-letter topic.
type Selection struct {
	// Items are the source records selected, in the order their first
	// letter was read.
	Items []*Item
	// Duplicates counts letters collapsed into an earlier one of the same
	// source record.
	Duplicates int
	// Unreadable are records of the topic that are not dead letters;
	// only a filter selecting everything selects them.
	Unreadable []*dlq.Letter
	// Ends are where the read stopped in each partition.
	Ends []dlq.End
	// Cut is, per partition, the offset of the first selected letter
	// left out by the limit: a run's progress must stop there.
	Cut map[int32]int64
}

// Select reads the dead-letter topic topic with a client made from kopts,
// from the start to its end at the call, and collapses the selected letters
// of each source record into one Item. limit, when above 0, keeps the first
// limit source records.
func Select(ctx context.Context, kopts []kgo.Opt, topic string, f dlq.Filter, limit int) (*Selection, error) {
	s := &Selection{Cut: map[int32]int64{}}
	byKey := map[dlq.SourceKey]*Item{}
	ends, err := dlq.Read(ctx, kopts, topic, func(l *dlq.Letter) error {
		if !f.Match(l) {
			return nil
		}
		if l.Err != nil {
			s.Unreadable = append(s.Unreadable, l)
			return nil
		}
		k := l.Key()
		it := byKey[k]
		if it == nil {
			if limit > 0 && len(s.Items) >= limit {
				if _, ok := s.Cut[l.Partition]; !ok {
					s.Cut[l.Partition] = l.Offset
				}
				return nil
			}
			it = &Item{}
			byKey[k] = it
			s.Items = append(s.Items, it)
		} else {
			s.Duplicates++
		}
		it.Letters = append(it.Letters, l)
		if it.Letter == nil || later(l, it.Letter) {
			it.Letter = l
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay: reading the dead-letter topic: %w", err)
	}
	s.Ends = ends
	return s, nil
}

// later reports whether a was written after b: by position when both are in
// one partition (as letters of one key are), where clocks cannot disagree;
// else by failure time.
func later(a, b *dlq.Letter) bool {
	if a.Partition == b.Partition {
		return a.Offset > b.Offset
	}
	return a.Timestamp.After(b.Timestamp)
}

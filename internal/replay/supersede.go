package replay

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// candidate is a state record that a later one may supersede.
type candidate struct {
	src   dlq.SourceKey
	key   []byte
	kind  optikpi.Kind
	newer int64 // offset of the newest superseding record; -1 for none
}

// findSuperseding reads each original partition of cands once, from its
// smallest candidate offset to its end, and sets each candidate's newer to
// the offset of the last later record with the same Kafka key that m maps
// to the same kind. A republished copy of the candidate itself
// (mapper.HeaderReplayOf) is not newer. A partition that stops answering
// is an error (dlq.ErrIncomplete): replaying without the check could
// regress a player.
func findSuperseding(ctx context.Context, kopts []kgo.Opt, m *mapper.Mapper, cands []*candidate) error {
	if len(cands) == 0 {
		return nil
	}
	type tp struct {
		topic string
		part  int32
	}
	byPart := map[tp]map[string][]*candidate{}
	minOff := map[tp]int64{}
	var topics []string
	for _, c := range cands {
		k := tp{c.src.Topic, c.src.Partition}
		if byPart[k] == nil {
			byPart[k] = map[string][]*candidate{}
			minOff[k] = c.src.Offset
			if !slices.Contains(topics, k.topic) {
				topics = append(topics, k.topic)
			}
		}
		byPart[k][string(c.key)] = append(byPart[k][string(c.key)], c)
		minOff[k] = min(minOff[k], c.src.Offset)
	}
	admCl, err := kgo.NewClient(kopts...)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	ends, err := kadm.NewClient(admCl).ListEndOffsets(ctx, topics...)
	admCl.Close()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("replay: reading the end offsets of %v: %w", topics, err)
	}
	var ranges []dlq.Range
	for k, off := range minOff {
		if end, ok := ends.Lookup(k.topic, k.part); ok {
			ranges = append(ranges, dlq.Range{Topic: k.topic, Partition: k.part, From: off + 1, To: end.Offset})
		}
	}
	err = dlq.ReadRanges(ctx, kopts, ranges, func(r *kgo.Record) error {
		if r.Key == nil {
			return nil
		}
		var mapped *mapper.Result
		for _, c := range byPart[tp{r.Topic, r.Partition}][string(r.Key)] {
			if r.Offset <= c.src.Offset || replayOf(r) == mapper.ReplayOf(c.src.Topic, c.src.Partition, c.src.Offset) {
				continue
			}
			if mapped == nil {
				res, err := m.Map(r)
				if err != nil {
					res = mapper.Result{Skipped: true}
				}
				mapped = &res
			}
			for i := range mapped.Len() {
				if o := mapped.At(i); o.Failure == nil && o.Record.Kind == c.kind {
					c.newer = r.Offset
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay: checking for newer profiles: %w", err)
	}
	return nil
}

// replayOf is r's first mapper.HeaderReplayOf value, "" without one.
func replayOf(r *kgo.Record) string {
	for _, h := range r.Headers {
		if h.Key == mapper.HeaderReplayOf {
			return string(h.Value)
		}
	}
	return ""
}

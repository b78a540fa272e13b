package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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

// idleTimeout ends the read of an original partition that stays silent
// this long: its last offsets can be gone (compaction, retention).
const idleTimeout = 10 * time.Second

// findSuperseding reads each original partition of cands once, from its
// smallest candidate offset to its end, and sets each candidate's newer to
// the offset of the last later record with the same Kafka key that m maps
// to the same kind. A republished copy of the candidate itself
// (mapper.HeaderReplayOf) is not newer.
func findSuperseding(ctx context.Context, kopts []kgo.Opt, m *mapper.Mapper, cands []*candidate) error {
	if len(cands) == 0 {
		return nil
	}
	type tp struct {
		topic string
		part  int32
	}
	byPart := map[tp]map[string][]*candidate{}
	from := map[string]map[int32]kgo.Offset{}
	minOff := map[tp]int64{}
	var topics []string
	for _, c := range cands {
		k := tp{c.src.Topic, c.src.Partition}
		if byPart[k] == nil {
			byPart[k] = map[string][]*candidate{}
			minOff[k] = c.src.Offset
			if from[k.topic] == nil {
				from[k.topic] = map[int32]kgo.Offset{}
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
	want := map[tp]int64{}
	for k, off := range minOff {
		end, ok := ends.Lookup(k.topic, k.part)
		if !ok || end.Offset <= off+1 {
			continue // nothing after the candidates
		}
		from[k.topic][k.part] = kgo.NewOffset().At(off + 1)
		want[k] = end.Offset
	}
	if len(want) == 0 {
		return nil
	}
	for t, ps := range from {
		if len(ps) == 0 {
			delete(from, t)
		}
	}
	cl, err := kgo.NewClient(append(slices.Clone(kopts), kgo.ConsumePartitions(from))...)
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	defer cl.Close()
	for len(want) > 0 {
		pctx, cancel := context.WithTimeout(ctx, idleTimeout)
		fs := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, fe := range fs.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("replay: reading %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		if len(fs.Records()) == 0 {
			break // silent for idleTimeout: the remaining offsets are gone
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := tp{r.Topic, r.Partition}
			end, ok := want[k]
			if !ok || r.Offset >= end {
				return
			}
			if r.Offset+1 >= end {
				delete(want, k)
			}
			if r.Key == nil {
				return
			}
			var mapped *mapper.Result
			for _, c := range byPart[k][string(r.Key)] {
				if r.Offset <= c.src.Offset || !bytes.Equal(r.Key, c.key) || replayOf(r) == mapper.ReplayOf(c.src.Topic, c.src.Partition, c.src.Offset) {
					continue
				}
				if mapped == nil {
					res, err := m.Map(r)
					if err != nil {
						res = mapper.Result{Skipped: true}
					}
					mapped = &res
				}
				if !mapped.Skipped && mapped.Record.Kind == c.kind {
					c.newer = r.Offset
				}
			}
		})
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

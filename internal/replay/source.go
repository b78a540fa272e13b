package replay

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/mapper"
)

// toSource republishes each record's original key, value, headers and
// timestamp to its original topic and partition, with mapper.HeaderReplayOf
// naming where it was first, so it keeps its derived event id.
func (r *run) toSource(ctx context.Context, work []*job) error {
	var cl *kgo.Client
	if !r.o.DryRun {
		var err error
		// The partition number itself: per-player order.
		cl, err = r.producer(kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			return fmt.Errorf("replay: source producer: %w", err)
		}
		defer cl.Close()
	}
	r.drive(ctx, work, func(j *job) bool {
		res := j.res
		if r.o.DryRun {
			res.Outcome = WouldRepublish
			r.sent++
			r.finish(j, res)
			return true
		}
		if err := r.lim.Wait(ctx); err != nil {
			return false
		}
		cl.Produce(r.life, republished(j.it.Letter.Source), func(_ *kgo.Record, err error) {
			if err != nil {
				r.fail(fmt.Errorf("replay: republishing %s: %w", j.it.Letter.Key(), err))
				return // not finished: the next run tries again
			}
			res.Outcome = Republished
			r.finish(j, res)
		})
		r.sent++
		return true
	})
	if r.o.DryRun {
		return nil
	}
	dctx, cancel := context.WithTimeout(r.life, drainTimeout)
	defer cancel()
	if err := cl.Flush(dctx); err != nil {
		return fmt.Errorf("replay: source producer: %w", err)
	}
	return nil
}

// republished is the record to put back for src: a record that already is
// a replay keeps the coordinates of its first attempt.
func republished(src *kgo.Record) *kgo.Record {
	hs := slices.Clone(src.Headers)
	if replayOf(src) == "" {
		hs = append(hs, kgo.RecordHeader{Key: mapper.HeaderReplayOf, Value: []byte(mapper.ReplayOf(src.Topic, src.Partition, src.Offset))})
	}
	return &kgo.Record{
		Topic:     src.Topic,
		Partition: src.Partition,
		Key:       src.Key,
		Value:     src.Value,
		Headers:   hs,
		Timestamp: src.Timestamp,
	}
}

// ConsumerGroups returns the consumer groups that have committed offsets on
// any of topics, by topic: each of them sees a republished record again.
func ConsumerGroups(ctx context.Context, kopts []kgo.Opt, topics []string) (map[string][]string, error) {
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("replay: listing consumer groups: %w", err)
	}
	fetched := adm.FetchManyOffsets(ctx, listed.Groups()...)
	out := map[string][]string{}
	for _, g := range listed.Groups() {
		resp, ok := fetched[g]
		if !ok || resp.Err != nil {
			continue
		}
		for _, t := range topics {
			if len(resp.Fetched[t]) > 0 {
				out[t] = append(out[t], g)
			}
		}
	}
	for _, gs := range out {
		slices.Sort(gs)
	}
	return out, nil
}

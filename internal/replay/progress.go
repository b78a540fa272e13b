package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/optikpi/optikpi-relay/internal/dlq"
)

// progress knows, per partition of the dead-letter topic, the offset a
// replay may commit: that of the first letter it has not finished, or the
// end it read to when it has finished every one, and never past the first
// letter a limit left out. It is the invariant of
// consume's tracker, for letters known up front. Safe for concurrent use.
type progress struct {
	mu    sync.Mutex
	parts map[int32]*partProgress
	dirty bool
	// selection is committed as the offsets' metadata (Options.Selection).
	selection string
}

type partProgress struct {
	offsets   []int64 // letters to finish, ascending
	done      []bool
	head      int   // first not done
	end       int64 // committed when every letter is done
	committed int64 // as fetched at the start, -1 for none
}

// newProgress starts from the committed offsets; a partition is done up to
// its end, or up to its cut: the first letter a limit left out.
func newProgress(ends []dlq.End, cut, committed map[int32]int64) *progress {
	p := &progress{parts: map[int32]*partProgress{}}
	for _, e := range ends {
		c, ok := committed[e.Partition]
		if !ok {
			c = -1
		}
		end := e.Offset
		if off, ok := cut[e.Partition]; ok {
			end = min(end, off)
		}
		p.parts[e.Partition] = &partProgress{end: end, committed: c}
	}
	p.dirty = true
	return p
}

// below reports whether the letter at partition and offset is below the
// committed offset the run started from: finished by an earlier attempt.
func (p *progress) below(partition int32, offset int64) bool {
	pp := p.parts[partition]
	return pp != nil && offset < pp.committed
}

// hold adds the letters of it that are not yet committed; call before
// commit and finish.
func (p *progress) hold(it *Item) {
	for _, l := range it.Letters {
		if pp := p.parts[l.Partition]; pp != nil && l.Offset >= pp.committed {
			pp.offsets = append(pp.offsets, l.Offset)
		}
	}
}

// sort orders what hold added; call once after the last hold.
func (p *progress) sort() {
	for _, pp := range p.parts {
		slices.Sort(pp.offsets)
		pp.done = make([]bool, len(pp.offsets))
	}
}

// finish marks the letters of it done.
func (p *progress) finish(it *Item) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range it.Letters {
		pp := p.parts[l.Partition]
		if pp == nil {
			continue
		}
		i, ok := slices.BinarySearch(pp.offsets, l.Offset)
		if !ok || pp.done[i] {
			continue
		}
		pp.done[i] = true
		for pp.head < len(pp.offsets) && pp.done[pp.head] {
			pp.head++
		}
		p.dirty = true
	}
}

// offsets returns what to commit, nil when nothing changed since the last
// call that was followed by a successful commit.
func (p *progress) offsets(topic string) kadm.Offsets {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dirty {
		return nil
	}
	p.dirty = false
	os := kadm.Offsets{}
	for part, pp := range p.parts {
		at := pp.end
		if pp.head < len(pp.offsets) {
			// min: a held letter can lie past a cut (a duplicate, on
			// this partition, of a record first read on another), and
			// the letter the limit left out must stay uncommitted.
			at = min(at, pp.offsets[pp.head])
		}
		if at > pp.committed {
			os.Add(kadm.Offset{Topic: topic, Partition: part, At: at, LeaderEpoch: -1, Metadata: p.selection})
		}
	}
	return os
}

func (p *progress) redo() {
	p.mu.Lock()
	p.dirty = true
	p.mu.Unlock()
}

// commit commits the progress to group; a group without members accepts
// an admin's commit, so the run needs no membership.
func (p *progress) commit(ctx context.Context, adm *kadm.Client, group, topic string) error {
	os := p.offsets(topic)
	if len(os) == 0 {
		return nil
	}
	resp, err := adm.CommitOffsets(ctx, group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		p.redo()
		return fmt.Errorf("replay: committing the progress to group %q: %w", group, err)
	}
	return nil
}

// committed fetches the offsets group has committed on topic; offsets
// committed for another selection than selection are ErrOtherSelection.
func committed(ctx context.Context, adm *kadm.Client, group, topic, selection string) (map[int32]int64, error) {
	resps, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = resps.Error()
	}
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int32]int64{}, nil // a first run: some brokers say so rather than answer empty
	}
	if err != nil {
		return nil, fmt.Errorf("replay: fetching the progress of group %q: %w", group, err)
	}
	out := map[int32]int64{}
	for part, r := range resps[topic] {
		if r.At < 0 {
			continue
		}
		if selection != "" && r.Metadata != "" && r.Metadata != selection {
			return nil, fmt.Errorf("%w: group %q", ErrOtherSelection, group)
		}
		out[part] = r.At
	}
	return out, nil
}

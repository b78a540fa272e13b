package replay

import (
	"fmt"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/dlq"
)

func TestProgressCommitsUpToFirstUnfinished(t *testing.T) {
	item := func(offs ...int64) *Item {
		it := &Item{}
		for _, o := range offs {
			it.Letters = append(it.Letters, &dlq.Letter{Partition: 0, Offset: o})
		}
		it.Letter = it.Letters[len(it.Letters)-1]
		return it
	}
	a, b, c := item(2, 7), item(4), item(5) // a has a duplicate at 7
	tests := []struct {
		name      string
		committed map[int32]int64
		cut       map[int32]int64
		finish    []*Item
		want      string // offset to commit, "" for none
	}{
		{"nothing finished", nil, nil, nil, "2"},
		{"first finished, its duplicate holds", nil, nil, []*Item{b, c}, "2"},
		{"out of order", nil, nil, []*Item{c, a}, "4"},
		{"all: the end", nil, nil, []*Item{a, b, c}, "10"},
		{"all, cut by a limit", nil, map[int32]int64{0: 8}, []*Item{a, b, c}, "8"},
		{"committed before: a below it is not held", map[int32]int64{0: 3}, nil, []*Item{b}, "5"},
		{"never backwards", map[int32]int64{0: 10}, nil, []*Item{a, b, c}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgress([]dlq.End{{Partition: 0, Offset: 10}}, tt.cut, tt.committed)
			for _, it := range []*Item{a, b, c} {
				p.hold(it)
			}
			p.sort()
			for _, it := range tt.finish {
				p.finish(it)
			}
			got := ""
			if os := p.offsets("dlq"); len(os) > 0 {
				o, _ := os.Lookup("dlq", 0)
				got = fmt.Sprint(o.At)
			}
			if got != tt.want {
				t.Errorf("commit %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProgressNeverPastTheCut: a selected record whose duplicate lies past
// the cut on another partition must not carry that partition's commit over
// the letter the limit left out, or the next run would count it replayed.
func TestProgressNeverPastTheCut(t *testing.T) {
	x := &Item{Letters: []*dlq.Letter{{Partition: 1, Offset: 0}, {Partition: 0, Offset: 9}}}
	y := &Item{Letters: []*dlq.Letter{{Partition: 0, Offset: 2}}}
	x.Letter, y.Letter = x.Letters[0], y.Letters[0]
	// The limit left out a letter at 0/5; x is not finished (interrupted).
	p := newProgress([]dlq.End{{Partition: 0, Offset: 10}, {Partition: 1, Offset: 3}}, map[int32]int64{0: 5}, nil)
	p.hold(x)
	p.hold(y)
	p.sort()
	p.finish(y)
	o, ok := p.offsets("dlq").Lookup("dlq", 0)
	if !ok || o.At != 5 {
		t.Errorf("partition 0 commits %d (found %v), want 5: the cut", o.At, ok)
	}
}

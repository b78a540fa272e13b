package consume

import (
	"slices"
	"testing"
)

// TestWaitQueue pushes and takes in steps and checks, after each, what
// waits and whether the array was reused, compacted, grown or let go.
func TestWaitQueue(t *testing.T) {
	const keep = 8
	type step struct {
		push, take int  // push first, then take
		reset      bool // then reset
		wantLen    int
		// wantCap is the array's capacity after the step: "same" as
		// before it, "grown", "kept" (any but none) or "none".
		wantCap string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"emptied keeps a small array", []step{
			{push: 5, take: 5, wantLen: 0, wantCap: "kept"},
			{push: 5, wantLen: 5, wantCap: "same"},
		}},
		{"emptied lets a large array go", []step{{push: 20, take: 20, wantLen: 0, wantCap: "none"}}},
		{"full and half taken: compacted", []step{
			{push: 8, take: 4, wantLen: 4, wantCap: "kept"},
			{push: 4, wantLen: 8, wantCap: "same"},
		}},
		{"full and less than half taken: grown", []step{
			{push: 8, take: 3, wantLen: 5, wantCap: "kept"},
			{push: 4, wantLen: 9, wantCap: "grown"},
		}},
		{"taken in parts", []step{
			{push: 4, take: 1, wantLen: 3, wantCap: "kept"},
			{take: 2, wantLen: 1, wantCap: "same"},
			{push: 2, take: 3, wantLen: 0, wantCap: "kept"},
		}},
		{"reset keeps a small array", []step{{push: 3, take: 1, reset: true, wantLen: 0, wantCap: "kept"}}},
		{"reset lets a large array go", []step{{push: 20, take: 1, reset: true, wantLen: 0, wantCap: "none"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				q            waitQueue
				next, oldest int64
			)
			for i, s := range tt.steps {
				before := cap(q.recs)
				for range s.push {
					q.push(&Record{gen: next})
					next++
				}
				q.take(s.take, keep)
				oldest += int64(s.take)
				if s.reset {
					q.reset(keep)
					oldest = next
				}
				var got, want []int64
				for _, r := range q.all() {
					got = append(got, r.gen)
				}
				for g := oldest; g < next; g++ {
					want = append(want, g)
				}
				if !slices.Equal(got, want) || q.len() != s.wantLen {
					t.Errorf("step %d: waiting %v (len %d), want %v (len %d)", i, got, q.len(), want, s.wantLen)
				}
				c := cap(q.recs)
				var capOK bool
				switch s.wantCap {
				case "same":
					capOK = c == before
				case "grown":
					capOK = c > before
				case "kept":
					capOK = c > 0
				case "none":
					capOK = c == 0
				}
				if !capOK {
					t.Errorf("step %d: capacity %d, was %d; want %s", i, c, before, s.wantCap)
				}
				for j, r := range q.recs[:cap(q.recs)] {
					if waits := j >= q.head && j < len(q.recs); !waits && r != nil {
						t.Errorf("step %d: slot %d, not waiting, holds %+v; want it nil", i, j, r)
					}
				}
			}
		})
	}
}

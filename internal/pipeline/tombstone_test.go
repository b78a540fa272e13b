package pipeline_test

import (
	"testing"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
)

// With routing.tombstones: skip, a tombstone is counted as skipped and its
// offset committed, not dead-lettered; an empty value, routing.empty left at
// dlq, still goes to the dead-letter topic.
func TestTombstonesSkipped(t *testing.T) {
	cfg, err := config.Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routing.Tombstones = config.UnmatchedSkip
	h := newHarnessWith(t, cfg, 2, nil)
	h.produce(100, 31)
	h.produceEvents([]gen.Event{
		{Topic: "players", Key: []byte("player-deleted"), Value: nil, Expect: gen.Expect{Skipped: true}},
		{Topic: "payments", Key: []byte("player-empty"), Value: []byte{}, Expect: gen.Expect{Reason: failure.Unparseable}},
	})
	h.produce(100, 0)
	r := h.start()
	h.waitCommitted()
	r.stop(t)
	h.verify(true)
	var wantSkipped int64
	for _, exp := range h.expect {
		if exp.Skipped {
			wantSkipped++
		}
	}
	if got := r.p.Stats().Skipped; got != wantSkipped {
		t.Errorf("skipped records = %d, want %d", got, wantSkipped)
	}
}

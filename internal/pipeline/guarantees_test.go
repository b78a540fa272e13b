package pipeline_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestProfileOrderAcrossCrash: a relay killed mid-stream and a new one in
// its place re-send each user's profiles from the last commit in their
// original order, so the last profile to reach Optikpi is each user's
// newest, and a user's arrivals go back at most once (to the commit) and
// are in order on either side of it (docs/guarantees.md).
func TestProfileOrderAcrossCrash(t *testing.T) {
	const users, updates = 40, 30
	h := newHarness(t, 4, nil)
	h.cfg.Sink.BatchSize = 16
	base := firstLine(t, "../../testdata/events/players.jsonl")
	var events []gen.Event
	for seq := 1; seq <= updates; seq++ {
		for u := range users {
			events = append(events, profileUpdate(t, base, fmt.Sprintf("crash%03d", u), seq))
		}
	}
	h.produceEvents(events)
	first := h.start()
	waitFor(t, "a third of the profiles done", func() (bool, string) {
		d := first.p.Stats().Done()
		return d >= users*updates/3, fmt.Sprintf("%d done", d)
	})
	first.abort()
	second := h.start()
	h.waitCommitted()
	second.stop(t)
	h.verify(false)

	seen := make(map[string][]int)
	for _, raw := range h.emus.ByName["main"].Records(optikpi.KindCustomer) {
		user, seq := profileSeq(t, raw)
		seen[user] = append(seen[user], seq)
	}
	if len(seen) != users {
		t.Errorf("profiles arrived for %d users; want %d", len(seen), users)
	}
	var replayed int
	for u, seqs := range seen {
		backs := 0
		for i := 1; i < len(seqs); i++ {
			if seqs[i] <= seqs[i-1] {
				backs++
			}
		}
		if last := seqs[len(seqs)-1]; last != updates || backs > 1 {
			t.Errorf("user %s: arrivals %v: last %d, went back %d times; want last %d, back at most once", u, seqs, last, backs, updates)
		}
		replayed += backs
	}
	t.Logf("%d of %d users had profiles re-sent after the crash", replayed, users)
}

// profileSeq returns a customer record's user and the sequence number
// profileUpdate put in its custom data.
func profileSeq(t *testing.T, raw []byte) (string, int) {
	t.Helper()
	var rec struct {
		UserID     string          `json:"user_id"`
		CustomData json.RawMessage `json:"custom_data"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	s := rec.CustomData
	if len(s) > 0 && s[0] == '"' { // custom_data may travel as a JSON string
		var inner string
		json.Unmarshal(s, &inner)
		s = json.RawMessage(inner)
	}
	var cd struct{ Seq int }
	if err := json.Unmarshal(s, &cd); err != nil {
		t.Fatalf("custom_data %s: %v", rec.CustomData, err)
	}
	return rec.UserID, cd.Seq
}

package pipeline_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

// One bad record inside a full batch costs only that record: the other 499
// are delivered.
func TestOneRejectedInBatchOf500(t *testing.T) {
	g := gen.New(5, gen.Options{BadRate: -1})
	var deposits []gen.Event
	for len(deposits) < 500 {
		if ev := g.Next(); ev.Expect.Model == "deposit" && ev.Expect.Reason == "" && ev.Expect.EventID != "" {
			deposits = append(deposits, ev)
		}
	}
	bad := deposits[250].Expect.EventID
	deposits[250].Expect = gen.Expect{Model: "deposit", Reason: failure.Rejected, EventID: bad}

	h := newHarness(t, 1, func(_ string, c *emulator.Config) {
		c.Reject = func(k optikpi.Kind, r optikpi.Record) string {
			if r["event_id"] == bad {
				return "refused by the test"
			}
			return ""
		}
	})
	h.cfg.Sink.Linger = time.Minute // only a full batch is sent
	h.produceEvents(deposits)
	r := h.start()
	h.waitCommitted()
	r.stop(t)
	h.verify(true)

	if got := len(h.emus.EventIDs(optikpi.KindDeposit)); got != 499 {
		t.Errorf("deposits delivered = %d; want 499", got)
	}
	stats := h.emus.ByName["main"].Stats()
	t.Logf("deposit endpoint: %+v", stats.Endpoints[optikpi.KindDeposit.Endpoint()])
	if first := stats.Endpoints[optikpi.KindDeposit.Endpoint()]; first.RecordsRejected < 500 {
		t.Errorf("records in rejected requests = %d; want at least the first batch's 500", first.RecordsRejected)
	}
	dead := h.deadLetters()
	for k, es := range dead {
		for _, e := range es {
			if e.Status != 400 || len(e.APIError) == 0 || e.Attempts < 1 || e.Endpoint != "/events/deposit" {
				t.Errorf("%v: dead letter status %d, api error %q, attempts %d, endpoint %q; want 400 with the body, >=1, /events/deposit", k, e.Status, e.APIError, e.Attempts, e.Endpoint)
			}
		}
	}
}

// profileUpdate returns the sample registration of testdata with its player,
// event id and a sequence number (in preferences, which maps to custom_data)
// replaced.
func profileUpdate(t *testing.T, base map[string]any, player string, seq int) gen.Event {
	t.Helper()
	ev := make(map[string]any, len(base))
	for k, v := range base {
		ev[k] = v
	}
	ev["type"] = "player.profile_updated"
	ev["player_id"] = player
	ev["event_id"] = fmt.Sprintf("upd-%s-%03d", player, seq)
	ev["preferences"] = map[string]any{"seq": seq}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return gen.Event{Topic: "players", Key: []byte(player), Value: b,
		Expect: gen.Expect{Model: "customer"}} // customer records carry no event_id
}

// profileSeqs returns, by user, the sequence numbers of the profile updates
// (profileUpdate) em accepted, in arrival order.
func profileSeqs(t *testing.T, em *emulator.Emulator) map[string][]int {
	t.Helper()
	seen := make(map[string][]int)
	for _, raw := range em.Records(optikpi.KindCustomer) {
		user, seq := profileSeq(t, raw)
		seen[user] = append(seen[user], seq)
	}
	return seen
}

func firstLine(t *testing.T, path string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatalf("%s: empty", path)
	}
	var m map[string]any
	if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Profiles are state: whatever the retries (5xx, 429, dropped connections),
// throttling and concurrency, each
// user's updates reach Optikpi in the order they were produced, so the last
// one arrives last.
func TestProfileOrderUnderFaults(t *testing.T) {
	const users, updates = 40, 30
	h := newHarness(t, 4, func(_ string, c *emulator.Config) {
		c.FailRate = 0.2  // 5xx
		c.DropRate = 0.05 // connection closed without an answer
		c.RateLimit = true
	})
	// Send faster than the emulator allows, so it answers 429 often.
	h.cfg.Sink.RateLimits = map[string]float64{"customer": 2000}
	// Small batches: enough requests that even a slow (race-detector, loaded)
	// relay outruns the guide's 50 requests/s and is throttled.
	h.cfg.Sink.BatchSize = 4
	h.cfg.Sink.InFlight = 8
	h.cfg.Sink.Retry.InitialBackoff = 5 * time.Millisecond
	h.cfg.Sink.Retry.MaxBackoff = 100 * time.Millisecond

	base := firstLine(t, "../../testdata/events/players.jsonl")
	var events []gen.Event
	for seq := 1; seq <= updates; seq++ {
		for u := 0; u < users; u++ {
			events = append(events, profileUpdate(t, base, fmt.Sprintf("ord%03d", u), seq))
		}
	}
	h.produceEvents(events)
	r := h.start()
	h.waitCommitted()
	r.stop(t)
	h.verify(false)

	seen := profileSeqs(t, h.emus.ByName["main"])
	stats := h.emus.ByName["main"].Stats().Endpoints["/customers"]
	t.Logf("customers endpoint: %+v", stats)
	if stats.Throttled == 0 || stats.Failed == 0 || stats.Dropped == 0 {
		t.Errorf("the emulator throttled %d, failed %d and dropped %d requests; the test needs all three to mean anything", stats.Throttled, stats.Failed, stats.Dropped)
	}
	if len(seen) != users {
		t.Errorf("updates arrived for %d users; want %d", len(seen), users)
	}
	for u, seqs := range seen {
		for i := 1; i < len(seqs); i++ {
			if seqs[i] < seqs[i-1] {
				t.Errorf("user %s: update %d arrived after update %d (arrival order %v)", u, seqs[i], seqs[i-1], seqs)
				break
			}
		}
		if last := seqs[len(seqs)-1]; last != updates {
			t.Errorf("user %s: last update to arrive is %d; want %d", u, last, updates)
		}
	}
}

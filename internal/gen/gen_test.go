package gen

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

var update = flag.Bool("update", false, "rewrite testdata/events from the generator")

const samplesDir = "../../testdata/events"

// samples returns a few events of every kind of each topic: the reference
// samples of testdata/events, for relay map test and the mapper's tests.
func samples() map[string][]byte {
	g := New(1, Options{Players: 50, BadRate: -1, SkipRate: 0.03})
	per := map[string]int{}
	out := map[string][]byte{}
	for range 20000 {
		ev := g.Next()
		var v map[string]any
		if err := json.Unmarshal(ev.Value, &v); err != nil {
			panic(err)
		}
		kind := ev.Topic
		for _, k := range []string{"type", "event_type", "kind", "name", "reason"} {
			if s, ok := v[k].(string); ok {
				kind += "/" + s
				break
			}
		}
		if per[kind] >= 2 {
			continue
		}
		per[kind]++
		out[ev.Topic] = append(append(out[ev.Topic], ev.Value...), '\n')
	}
	return out
}

func TestSamplesUpToDate(t *testing.T) {
	want := samples()
	if *update {
		if err := os.MkdirAll(samplesDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for topic, b := range want {
			if err := os.WriteFile(filepath.Join(samplesDir, topic+".jsonl"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, topic := range Topics() {
		got, err := os.ReadFile(filepath.Join(samplesDir, topic+".jsonl"))
		if err != nil {
			t.Fatalf("%v (run go test ./internal/gen -update)", err)
		}
		if !bytes.Equal(got, want[topic]) {
			t.Errorf("testdata/events/%s.jsonl is not what the generator makes (run go test ./internal/gen -update)", topic)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := New(7, Options{}), New(7, Options{})
	for i := range 2000 {
		ea, eb := a.Next(), b.Next()
		if ea.Topic != eb.Topic || !bytes.Equal(ea.Value, eb.Value) || ea.Expect != eb.Expect {
			t.Fatalf("event %d differs with the same seed:\n%s\n%s", i, ea.Value, eb.Value)
		}
	}
}

func TestMix(t *testing.T) {
	g := New(3, Options{Players: 200, BadRate: 0.05, SkipRate: 0.02})
	models := map[string]int{}
	reasons := map[failure.Reason]int{}
	skipped := 0
	topics := map[string]bool{}
	const n = 20000
	for range n {
		ev := g.Next()
		topics[ev.Topic] = true
		switch {
		case ev.Expect.Skipped:
			skipped++
		case ev.Expect.Reason != "":
			reasons[ev.Expect.Reason]++
			if ev.Expect.Model != "" {
				t.Errorf("bad event with model %q: %+v", ev.Expect.Model, ev.Expect)
			}
		default:
			models[ev.Expect.Model]++
		}
		if ev.Topic != TopicSystem && len(ev.Key) == 0 {
			t.Errorf("%s event without a key: %s", ev.Topic, ev.Value)
		}
	}
	for _, m := range []string{"customer", "account", "deposit", "withdraw", "gaming_activity", "wallet_balance", "refer_friend", "ext_attributes", "system_event"} {
		if models[m] == 0 {
			t.Errorf("no %s events in %d: %v", m, n, models)
		}
	}
	for _, r := range []failure.Reason{failure.Unparseable, failure.Unrouted, failure.Invalid, failure.Rejected} {
		if reasons[r] == 0 {
			t.Errorf("no %s events in %d: %v", r, n, reasons)
		}
	}
	if skipped == 0 {
		t.Errorf("no skipped events with SkipRate 0.02")
	}
	for _, topic := range Topics() {
		if !topics[topic] {
			t.Errorf("no events on topic %s", topic)
		}
	}
	if got := len(models); got != 9 {
		t.Errorf("got %d models, want 9: %v", got, slices.Sorted(mapKeys(models)))
	}
}

func TestNoBadOrSkippedByDefault(t *testing.T) {
	g := New(5, Options{BadRate: -1})
	for i := range 5000 {
		ev := g.Next()
		if ev.Expect.Reason != "" || ev.Expect.Skipped || ev.Expect.Model == "" {
			t.Fatalf("event %d: got %+v with BadRate -1 and no SkipRate", i, ev.Expect)
		}
	}
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Deposit makes only deposits, stamped by Clock when it is set, and leaves
// nothing pending for Next.
func TestDepositClock(t *testing.T) {
	at := time.Date(2030, 5, 6, 7, 8, 9, 123e6, time.UTC)
	g := New(7, Options{Clock: func() time.Time { return at }})
	for i := range 200 {
		ev := g.Deposit()
		var v struct {
			Type      string `json:"type"`
			CreatedAt string `json:"created_at"`
		}
		if err := json.Unmarshal(ev.Value, &v); err != nil {
			t.Fatal(err)
		}
		got, err := time.Parse(time.RFC3339Nano, v.CreatedAt)
		if ev.Topic != TopicPayments || ev.Expect.Model != "deposit" || ev.Expect.Reason != "" || !strings.HasPrefix(v.Type, "deposit.") || err != nil || !got.Equal(at) {
			t.Fatalf("event %d: topic %s, expect %+v, type %q, created_at %q (%v); want a deposit at %v", i, ev.Topic, ev.Expect, v.Type, v.CreatedAt, err, at)
		}
	}
	if ev := g.Next(); ev.Topic == TopicWallets {
		t.Errorf("Next after Deposit = a balance change %s; want nothing left pending", ev.Value)
	}
}

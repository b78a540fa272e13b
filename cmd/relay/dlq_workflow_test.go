package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// TestDLQOnCallWorkflow is the on-call path of issue 8 end to end, with the
// commands as an engineer types them: the relay dead-letters deposits
// through a broken mapping; summary and inspect show them; map test and
// dlq test prove the fixed mapping on the records themselves; a filtered
// replay delivers them with the event ids of their first attempt. (Resume,
// a second run, --dry-run, --to source and superseded profiles are tested
// in internal/replay and TestDLQTestAndReplayCommands.)
func TestDLQOnCallWorkflow(t *testing.T) {
	c, emus, write := newDLQCmdEnv(t, 2)
	brokenPath, fixedPath := write("broken.yaml", "player_id"), write("fixed.yaml", "{meta: key}")
	broken, err := config.Load(brokenPath)
	if err != nil {
		t.Fatal(err)
	}

	// 8 deposits name their player; 12 carry the player only as the key,
	// which the broken mapping does not read.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	var recs []*kgo.Record
	for i := range 20 {
		v := fmt.Sprintf(`{"amount":%d}`, i+1)
		if i%5 < 2 {
			v = fmt.Sprintf(`{"amount":%d,"player_id":"p%d"}`, i+1, i)
		}
		recs = append(recs, &kgo.Record{Topic: "payments", Key: fmt.Appendf(nil, "p%d", i), Value: []byte(v)})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var wantIDs []string // the derived ids of the dead-lettered deposits
	for _, r := range recs {
		if !strings.Contains(string(r.Value), "player_id") {
			wantIDs = append(wantIDs, mapper.DerivedEventID(r.Topic, r.Partition, r.Offset))
		}
	}
	slices.Sort(wantIDs)

	p, err := pipeline.New(broken, pipeline.Options{Tokens: emus.Tokens})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- p.Run(ctx) }()
	for deadline := time.Now().Add(60 * time.Second); p.Consumer().Stats().Done < 20; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the relay did not finish the 20 records: %+v", p.Consumer().Stats())
		}
	}
	cancel()
	if err := <-runDone; err != nil {
		t.Fatalf("Run: %v", err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer scancel()
	if err := p.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	deposits := func() []string { return emus.EventIDs(optikpi.KindDeposit) }
	if n := len(deposits()); n != 8 {
		t.Fatalf("the broken mapping delivered %d deposits, want 8", n)
	}

	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	step := func(name, stdin string, wantCode int, args ...string) string {
		t.Helper()
		code, out, errOut := relay(t, stdin, args...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstdout %s\nstderr %s", name, code, wantCode, out, errOut)
		}
		return out
	}

	out := step("summary", "", 0, "dlq", "summary", "--config", brokenPath, "--by", "reason,route")
	for _, want := range []string{"invalid 12", "deposits 12"} {
		if !strings.Contains(norm(out), want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}

	jsonl := step("inspect", "", 0, "dlq", "inspect", "--config", brokenPath, "--reason", "invalid", "--output", "json")
	lines := strings.Split(strings.TrimSpace(jsonl), "\n")
	if len(lines) != 12 {
		t.Fatalf("inspect --output json printed %d lines, want 12:\n%s", len(lines), jsonl)
	}
	var gotIDs []string
	for _, l := range lines {
		r, err := dlq.DecodeRecord([]byte(l))
		if err != nil {
			t.Fatalf("inspect line %q: %v", l, err)
		}
		if !strings.HasPrefix(string(r.Key), "p") || r.Topic != "payments" {
			t.Errorf("inspect line lost the original key or topic: %q", l)
		}
		gotIDs = append(gotIDs, mapper.DerivedEventID(r.Topic, r.Partition, r.Offset))
	}
	slices.Sort(gotIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("inspect shows the records %v, want %v", gotIDs, wantIDs)
	}

	out = step("map test", jsonl, 0, "map", "test", "--config", fixedPath)
	if !strings.Contains(out, "12 mapped, 0 failed") {
		t.Errorf("map test of the inspected records with the fixed mapping:\n%s", out)
	}
	out = step("dlq test", "", 0, "dlq", "test", "--config", fixedPath, "--reason", "invalid")
	if !strings.Contains(norm(out), "12 would deliver, 0 would fail again") {
		t.Errorf("dlq test with the fixed mapping:\n%s", out)
	}
	if n := len(deposits()); n != 8 {
		t.Fatalf("map test or dlq test sent something: %d deposits, want 8", n)
	}

	// A replay with the broken mapping fails again and says so; the next
	// run, over --max-replays, sends nothing and must not exit 0 either.
	step("replay broken", "", 1, "dlq", "replay", "--config", brokenPath, "--reason", "invalid", "--run-id", "broken")
	code, out, errOut := relay(t, "", "dlq", "replay", "--config", brokenPath, "--reason", "invalid", "--run-id", "over", "--max-replays", "1")
	if code != 1 || !strings.Contains(errOut, "12 records are over --max-replays 1 and were not sent") {
		t.Errorf("replay over --max-replays: exit %d, stderr %q; want 1 and the records over it named\nstdout %s", code, errOut, out)
	}

	before := deposits()
	step("replay", "", 0, "dlq", "replay", "--config", fixedPath, "--reason", "invalid", "--topic", "payments")
	var replayed []string
	for _, id := range deposits() {
		if !slices.Contains(before, id) {
			replayed = append(replayed, id)
		}
	}
	slices.Sort(replayed)
	if !slices.Equal(replayed, wantIDs) {
		t.Errorf("replay delivered the event ids %v, want the first attempt's %v", replayed, wantIDs)
	}
	if n := len(deposits()); n != 20 {
		t.Errorf("Optikpi holds %d deposits after the replay, want 20", n)
	}
}

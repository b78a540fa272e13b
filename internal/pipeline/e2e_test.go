package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// The whole path, once: tens of thousands of mixed records, bad ones among
// them, across several partitions.
func TestEndToEnd(t *testing.T) {
	h := newHarness(t, 6, nil)
	h.produce(30000, 1)
	r := h.start()
	h.waitCommitted()
	r.stop(t)
	h.verify(true)

	st := r.p.Stats()
	if st.Consumed != int64(len(h.expect)) || st.Done() != st.Consumed {
		t.Errorf("stats: consumed %d, done %d; want both %d", st.Consumed, st.Done(), len(h.expect))
	}
}

// A relay that dies mid-stream (no flush, no commit) loses nothing: a new one
// in the same group relays whatever was not committed.
func TestCrashMidStream(t *testing.T) {
	h := newHarness(t, 4, nil)
	h.produce(12000, 2)
	first := h.start()
	waitFor(t, "a third of the stream done", func() (bool, string) {
		d := first.p.Stats().Done()
		return d >= int64(len(h.expect)/3), fmt.Sprintf("%d done", d)
	})
	first.abort()

	second := h.start()
	h.waitCommitted()
	second.stop(t)
	h.verify(false)
}

// Two relays share a group; one leaves mid-stream and the other takes its
// partitions over without losing a record.
func TestTwoRelaysOneLeaves(t *testing.T) {
	h := newHarness(t, 6, nil)
	a, b := h.start(), h.start()
	// Keep the stream flowing until the group has settled with work for
	// both: the first to join may otherwise take all of it alone.
	waitFor(t, "both relays working", func() (bool, string) {
		h.produce(200, 3)
		da, db := a.p.Stats().Done(), b.p.Stats().Done()
		return da > 0 && db > 0 && len(h.expect) >= 4000, fmt.Sprintf("a %d, b %d done", da, db)
	})
	a.stop(t)
	h.produce(6000, 3) // what arrives after a left is b's alone
	h.waitCommitted()
	b.stop(t)
	h.verify(false)
}

// A wrong token stops the relay without losing or dead-lettering anything:
// it reports not ready, commits nothing past the first record it could not
// deliver, and heals once the token file (a mounted Secret) is fixed.
func TestMisconfiguredDestinationHeals(t *testing.T) {
	h := newHarness(t, 2, nil)
	good, err := h.emus.Tokens["main"].Token()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("not-the-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.emus.Tokens["main"] = optikpi.NewFileToken(path)
	h.produce(3000, 6)
	r := h.start()

	em := h.emus.ByName["main"]
	waitFor(t, "the relay to report itself not ready", func() (bool, string) {
		err := r.p.Ready()
		return err != nil && em.Stats().Total().Unauthorized > 0, fmt.Sprintf("ready: %v", err)
	})
	if err := r.p.Ready(); strings.Contains(err.Error(), "not-the-token") {
		t.Errorf("readiness error shows the token: %v", err)
	}
	if n := em.Stats().Total().RecordsAccepted; n != 0 {
		t.Errorf("%d records accepted with a wrong token", n)
	}
	// Give the committer a few intervals, then check nothing routed to the
	// destination was committed past.
	time.Sleep(5 * h.cfg.Kafka.CommitInterval)
	firstRouted := make(map[srcKey]int64) // by topic and partition, offset -1
	for k, exp := range h.expect {
		if exp.Reason != "" || exp.Skipped {
			continue
		}
		p := srcKey{k.topic, k.partition, -1}
		if at, ok := firstRouted[p]; !ok || k.offset < at {
			firstRouted[p] = k.offset
		}
	}
	committed, err := h.adm.FetchOffsets(context.Background(), h.cfg.Kafka.Group)
	if err != nil {
		t.Fatal(err)
	}
	for p, first := range firstRouted {
		if c, ok := committed.Lookup(p.topic, p.partition); ok && c.At > first {
			t.Errorf("%s[%d]: committed %d while the record at %d was never delivered", p.topic, p.partition, c.At, first)
		}
	}
	for k, es := range h.deadLetters() {
		for _, e := range es {
			if e.Reason == failure.Rejected || e.Reason == failure.RetriesExhausted || e.Reason == failure.TooLarge {
				t.Errorf("%v dead-lettered as %s while the destination was misconfigured", k, e.Reason)
			}
		}
	}

	if err := os.WriteFile(path, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.waitCommitted()
	if err := r.p.Ready(); err != nil {
		t.Errorf("still not ready after the token was fixed: %v", err)
	}
	r.stop(t)
	h.verify(true)
}

// A missing dead-letter topic fails at start, naming the key, instead of
// leaving the first bad record waiting forever.
func TestMissingDLQTopicFailsAtStart(t *testing.T) {
	h := newHarness(t, 1, nil)
	h.cfg.DLQ.Topic = "no-such-dlq"
	p, err := pipeline.New(h.cfg, pipeline.Options{Tokens: h.emus.Tokens})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Abort()
	err = p.Run(context.Background())
	if !errors.Is(err, pipeline.ErrNoDLQTopic) || !strings.Contains(err.Error(), "dlq.topic") {
		t.Errorf("Run: got %v, want ErrNoDLQTopic naming dlq.topic", err)
	}
}

// TestStartLogsDestinationHealth: at start the relay asks every
// destination's health endpoint and says which cannot be reached, without
// refusing to start.
func TestStartLogsDestinationHealth(t *testing.T) {
	h := newHarness(t, 1, nil)
	gone := httptest.NewServer(nil)
	gone.Close()
	const broken = "unreachable"
	d := h.cfg.Destinations[0]
	d.Name, d.BaseURL = broken, gone.URL+"/apigw/ingest"
	h.cfg.Destinations = append(h.cfg.Destinations, d)
	tokens := maps.Clone(h.emus.Tokens)
	tokens[broken] = tokens[h.cfg.Destinations[0].Name]

	core, logs := observer.New(zapcore.InfoLevel)
	r := h.startWith(pipeline.Options{Tokens: tokens, Logger: zap.New(core)})

	got := map[string]string{}
	waitFor(t, "a health line per destination", func() (bool, string) {
		for _, e := range logs.FilterMessageSnippet("health").All() {
			got[e.ContextMap()["destination"].(string)] = e.Level.String() + ": " + e.Message
		}
		return len(got) == len(h.cfg.Destinations), fmt.Sprint(got)
	})
	for _, d := range h.cfg.Destinations {
		want := "info: destination healthy; credentials accepted"
		if d.Name == broken {
			want = "warn: destination health check failed; relaying anyway, requests are retried"
		}
		if got[d.Name] != want {
			t.Errorf("destination %q: logged %q, want %q", d.Name, got[d.Name], want)
		}
	}
	r.stop(t)
}

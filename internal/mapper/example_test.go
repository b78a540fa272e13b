package mapper

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

const (
	exampleConfig = "../../config.example.yaml"
	samplesDir    = "../../testdata/events"
)

func exampleMapper(tb testing.TB, strict bool) *Mapper {
	tb.Helper()
	cfg, err := config.Load(exampleConfig)
	if err != nil {
		tb.Fatalf("load example config: %v", err)
	}
	cfg.Sink.Strict = strict
	m, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return m
}

// readSamples returns each sample file's lines by topic.
func readSamples(tb testing.TB) map[string][][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no samples in %s: %v", samplesDir, err)
	}
	out := map[string][][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		topic := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out[topic] = append(out[topic], bytes.Clone(sc.Bytes()))
		}
	}
	return out
}

// TestExampleConfigReachesEveryModel maps every reference sample with the
// example configuration, strict like the demo's server: each maps to a
// record that validates (Map validates), or is skipped by a skip route, and
// all nine models are reached.
func TestExampleConfigReachesEveryModel(t *testing.T) {
	m := exampleMapper(t, true)
	reached := map[optikpi.Kind]int{}
	for topic, lines := range readSamples(t) {
		if !contains(gen.Topics(), topic) {
			t.Errorf("sample file for %q, which is not a reference topic", topic)
		}
		for i, v := range lines {
			res, err := m.Map(&kgo.Record{Topic: topic, Offset: int64(i), Value: v})
			if err != nil {
				t.Errorf("%s line %d: %v\n%s", topic, i+1, err, v)
				continue
			}
			if res.Skipped {
				continue
			}
			reached[res.Record.Kind]++
			if err := res.Record.Kind.Validate(decode(t, res.Record.JSON), optikpi.ValidateOptions{Strict: true}); err != nil {
				t.Errorf("%s line %d: encoded record does not validate: %v\n%s", topic, i+1, err, res.Record.JSON)
			}
		}
	}
	for _, k := range optikpi.Kinds() {
		if reached[k] == 0 {
			t.Errorf("no sample reaches model %s", k)
		}
	}
}

func decode(tb testing.TB, b []byte) optikpi.Record {
	tb.Helper()
	recs, err := optikpi.DecodeRecords(b)
	if err != nil || len(recs) != 1 {
		tb.Fatalf("decode %s: %v", b, err)
	}
	return recs[0]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestGeneratorThroughExampleConfig checks the generator's promises against
// the mapper: every event maps, fails or is skipped exactly as its Expect
// says. "rejected" events are for a strict server to refuse, so the
// mapper, validating as the guide does, must accept them.
func TestGeneratorThroughExampleConfig(t *testing.T) {
	m, strict := exampleMapper(t, false), exampleMapper(t, true)
	g := gen.New(11, gen.Options{Players: 300, BadRate: 0.05, SkipRate: 0.02})
	offsets := map[string]int64{}
	seen := map[string]int{}
	for i := range 5000 {
		ev := g.Next()
		off := offsets[ev.Topic]
		offsets[ev.Topic]++
		res, err := m.Map(&kgo.Record{Topic: ev.Topic, Key: ev.Key, Offset: off, Value: ev.Value})
		want := ev.Expect
		switch {
		case want.Skipped:
			seen["skipped"]++
			if err != nil || !res.Skipped {
				t.Errorf("event %d on %s: got %+v, %v; want skipped\n%s", i, ev.Topic, res, err, ev.Value)
			}
		case want.Reason == "" || want.Reason == failure.Rejected:
			seen[want.Model+string(want.Reason)]++
			if err != nil {
				t.Errorf("event %d on %s: got %v; want model %s\n%s", i, ev.Topic, err, want.Model, ev.Value)
				continue
			}
			if want.Reason == "" && res.Record.Kind.String() != want.Model {
				t.Errorf("event %d on %s: got model %s, want %s", i, ev.Topic, res.Record.Kind, want.Model)
			}
			if want.EventID != "" && res.Record.EventID != want.EventID {
				t.Errorf("event %d on %s: got event_id %q, want %q", i, ev.Topic, res.Record.EventID, want.EventID)
			}
			if want.Reason == failure.Rejected {
				if _, err := m.Map(&kgo.Record{Topic: ev.Topic, Value: ev.Value}); err != nil {
					t.Errorf("event %d: the guide-level mapper refused a record meant for the server: %v", i, err)
				}
				if _, err := strict.Map(&kgo.Record{Topic: ev.Topic, Value: ev.Value}); !errors.Is(err, ErrInvalid) {
					t.Errorf("event %d: strict validation accepts a record a strict server must reject: %v\n%s", i, err, ev.Value)
				}
			}
		default:
			seen[string(want.Reason)]++
			var f *Failure
			if !errors.As(err, &f) || f.Reason != want.Reason {
				t.Errorf("event %d on %s: got %+v, %v; want failure %s\n%s", i, ev.Topic, res, err, want.Reason, ev.Value)
			}
		}
	}
	for _, k := range []string{"skipped", "unparseable", "unrouted", "invalid", string(failure.Rejected), "customer", "system_event"} {
		if seen[k] == 0 {
			t.Errorf("5000 events had no %q: %v", k, seen)
		}
	}
}

package mapper

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// FuzzMap throws arbitrary values at the example configuration's routes:
// no panic, and every input either maps to a record that validates, is
// skipped, or fails with one of the three reasons.
func FuzzMap(f *testing.F) {
	m := exampleMapper(f, false)
	topics := gen.Topics()
	for topic, lines := range readSamples(f) {
		for _, l := range lines {
			f.Add(uint8(indexOf(topics, topic)), l)
		}
	}
	f.Add(uint8(0), []byte(`{"type":"player.registered","player_id":1e400}`))
	f.Add(uint8(2), []byte(`{"type":"deposit.completed","amount_minor":"-0","currency":"jpy","created_at":"0000-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, topic uint8, value []byte) {
		rec := &kgo.Record{Topic: topics[int(topic)%len(topics)], Partition: 1, Offset: 2, Value: value}
		res, err := m.Map(rec)
		if err != nil {
			var fl *Failure
			if !errors.As(err, &fl) {
				t.Fatalf("error %T %v is not a *Failure", err, err)
			}
			switch fl.Reason {
			case failure.Unparseable, failure.Unrouted, failure.Invalid:
			default:
				t.Fatalf("failure without a known reason: %+v", fl)
			}
			if fl.Message == "" {
				t.Fatalf("failure without a message: %+v", fl)
			}
			return
		}
		if res.Skipped {
			return
		}
		recs, err := optikpi.DecodeRecords(res.Record.JSON)
		if err != nil || len(recs) != 1 {
			t.Fatalf("mapped to undecodable JSON %q: %v", res.Record.JSON, err)
		}
		if err := res.Record.Kind.Validate(recs[0], optikpi.ValidateOptions{}); err != nil {
			t.Fatalf("mapped record does not validate: %v\n%s", err, res.Record.JSON)
		}
	})
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

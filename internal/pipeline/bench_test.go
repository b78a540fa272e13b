package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/consume"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/sink"
)

// heldSink holds what is sent to it, for the benchmark to make final.
type heldSink struct{ held []sink.Owner }

func (s *heldSink) SendTo(_ context.Context, _ string, _ optikpi.Encoded, o sink.Owner) error {
	s.held = append(s.held, o)
	return nil
}
func (*heldSink) Close(context.Context) error { return nil }
func (*heldSink) Ready() error                { return nil }

// BenchmarkDeliver is the pipeline's part of a mapped output's way, outside
// the mapper and the sink: send hands it to the sink, which acknowledges
// it with the rest of its batch of 500 (Final), as a sender does. The
// consumer's part (Done) is left out: these records are not a consumer's.
func BenchmarkDeliver(b *testing.B) {
	const batch = 500
	snk := &heldSink{held: make([]sink.Owner, 0, batch)}
	p := &Pipeline{logger: zap.NewNop(), sink: snk, counts: newCounters()}
	ts := time.Now()
	recs := make([]*consume.Record, batch)
	for i := range recs {
		recs[i] = &consume.Record{Record: &kgo.Record{Timestamp: ts.Add(time.Duration(-i) * time.Millisecond), Offset: int64(i)}}
	}
	out := &mapper.Output{Name: "deposit", Destination: "main", Record: optikpi.Encoded{Kind: optikpi.KindDeposit, EventID: "e-1", JSON: []byte(`{}`)}}
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r := recs[n%batch]
		p.send(ctx, r, nil, "deposits", out)
		if n++; len(snk.held) == batch {
			at := time.Now()
			for i, o := range snk.held {
				o.Final(nil, at)
				snk.held[i] = nil
			}
			snk.held = snk.held[:0]
		}
	}
	// Every output made final was counted delivered, none dead-lettered.
	if got, want := p.counts.delivered[optikpi.KindDeposit].Load(), int64(n-len(snk.held)); got != want {
		b.Fatalf("%d outputs delivered, want %d", got, want)
	}
}

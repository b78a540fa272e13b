package dlq

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

// TestTooLargeWrittenWithoutValue: a dead letter the topic cannot take
// with its value is written without it, with headers saying so and the
// original's coordinates, instead of being retried forever; one still too
// large without its value goes without the original key and headers too. Both refusals
// are covered: the broker's max.message.bytes (kfake enforces the topic's)
// and the client's own ProducerBatchMaxBytes, which refuses before sending.
func TestTooLargeWrittenWithoutValue(t *testing.T) {
	const topicLimit = 64 << 10
	tests := []struct {
		name      string
		clientMax int32 // 0: kgo's default, larger than the topic's limit
		value     int
		header    int // size of one more original header
		// linger, when set, makes every retry of the two share a batch
		// (it outlasts the backoff's spread).
		linger time.Duration
	}{
		{"broker refuses", 0, 200_000, 0, 0},
		{"client refuses", topicLimit, 7 << 20, 0, 0},
		// Without its value it is still too large: the original key and
		// headers go too.
		{"headers too large, broker refuses", 0, 10, 100_000, 0},
		{"headers too large, client refuses", topicLimit, 10, 100_000, 0},
		{"sharing every batch, broker refuses", 0, 200_000, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			limit := strconv.Itoa(topicLimit)
			if _, err := e.adm.CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &limit}, dlqTopic); err != nil {
				t.Fatal(err)
			}
			cl := e.cl
			if tt.clientMax > 0 || tt.linger > 0 {
				opts := []kgo.Opt{kgo.SeedBrokers(e.addrs...), kgo.ProducerLinger(tt.linger)}
				if tt.clientMax > 0 {
					opts = append(opts, kgo.ProducerBatchMaxBytes(tt.clientMax))
				}
				var err error
				cl, err = kgo.NewClient(opts...)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(cl.Close)
			}
			w, err := NewWriter(cl, Options{Topic: dlqTopic})
			if err != nil {
				t.Fatal(err)
			}
			// Random bytes: the producer compresses, and the broker
			// measures the compressed batch.
			value := make([]byte, tt.value)
			rand.NewChaCha8([32]byte{}).Read(value)
			big := source("payments", 3, 6567, "player-1", string(value), "trace", "abc")
			if tt.header > 0 {
				hv := make([]byte, tt.header)
				rand.NewChaCha8([32]byte{1}).Read(hv)
				big.Headers = append(big.Headers, kgo.RecordHeader{Key: "blob", Value: hv})
			}
			dropped := tt.header > 0
			small := source("payments", 3, 6568, "player-2", "{not json")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done := make(chan error, 2)
			for _, src := range []*kgo.Record{big, small} {
				w.Write(ctx, Entry{Source: src, Reason: failure.Invalid, Message: "unparseable"}, func(err error) { done <- err })
			}
			for range 2 {
				if err := <-done; err != nil {
					t.Fatalf("done(%v); want nil: a too-large dead letter must not block its partition", err)
				}
			}
			got := map[int64]Entry{}
			for _, r := range e.readAll(2) {
				if len(r.Value) > topicLimit {
					t.Errorf("dead letter value of %d bytes; want at most %d", len(r.Value), topicLimit)
				}
				en, err := Parse(r)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				got[en.Source.Offset] = en
			}
			b := got[big.Offset]
			t.Logf("big: value omitted %v (%d bytes), key and headers omitted %v, value %d bytes, topic %s[%d]@%d, key %q",
				b.ValueOmitted, b.ValueBytes, b.KeyHeadersOmitted, len(b.Source.Value), b.Source.Topic, b.Source.Partition, b.Source.Offset, b.Source.Key)
			if !b.ValueOmitted || b.ValueBytes != tt.value || len(b.Source.Value) != 0 {
				t.Errorf("big: ValueOmitted %v, ValueBytes %d, value %d bytes; want true, %d, 0", b.ValueOmitted, b.ValueBytes, len(b.Source.Value), tt.value)
			}
			if b.Source.Topic != "payments" || b.Source.Partition != 3 || b.Reason != failure.Invalid {
				t.Errorf("big: %s[%d]@%d reason %s; want the original's coordinates and reason",
					b.Source.Topic, b.Source.Partition, b.Source.Offset, b.Reason)
			}
			if b.KeyHeadersOmitted != dropped {
				t.Errorf("big: KeyHeadersOmitted %v; want %v", b.KeyHeadersOmitted, dropped)
			}
			switch {
			case dropped && (b.Source.Key != nil || len(b.Source.Headers) != 0):
				t.Errorf("big: key %q, %d headers; want none", b.Source.Key, len(b.Source.Headers))
			case !dropped && (string(b.Source.Key) != "player-1" || len(b.Source.Headers) != 1 || b.Source.Headers[0].Key != "trace"):
				t.Errorf("big: key %q, headers %v; want the original's", b.Source.Key, b.Source.Headers)
			}
			s := got[small.Offset]
			if s.ValueOmitted || s.ValueBytes != 0 || s.KeyHeadersOmitted || !bytes.Equal(s.Source.Value, small.Value) {
				t.Errorf("small: ValueOmitted %v, ValueBytes %d, value %q; want its value kept", s.ValueOmitted, s.ValueBytes, s.Source.Value)
			}
		})
	}
}

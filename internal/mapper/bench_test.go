package mapper

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// sample returns the first reference sample of topic that contains marker.
func sample(b *testing.B, topic, marker string) []byte {
	for _, l := range readSamples(b)[topic] {
		if bytes.Contains(l, []byte(marker)) {
			return l
		}
	}
	b.Fatalf("no %s sample with %q", topic, marker)
	return nil
}

func benchmarkMap(b *testing.B, topic string, value []byte) {
	m := exampleMapper(b, false)
	rec := &kgo.Record{Topic: topic, Partition: 1, Offset: 1, Value: value}
	if _, err := m.Map(rec); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMapDeposit maps a deposit of the payments topic (11 fields).
func BenchmarkMapDeposit(b *testing.B) {
	benchmarkMap(b, "payments", sample(b, "payments", `"type":"deposit.completed"`))
}

// BenchmarkMapCustomer maps a full customer profile (44 field rules).
func BenchmarkMapCustomer(b *testing.B) {
	benchmarkMap(b, "players", sample(b, "players", `"type":"player.registered"`))
}

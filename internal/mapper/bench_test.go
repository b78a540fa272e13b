package mapper

import (
	"bytes"
	"maps"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
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
	benchmarkRecord(b, m, rec)
}

// benchmarkRecord maps rec by m over and over, per byte of its value.
func benchmarkRecord(b *testing.B, m *Mapper, rec *kgo.Record) {
	b.SetBytes(int64(len(rec.Value)))
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

// modelSamples returns, for each of the nine models, the first reference
// sample that m maps to it, and every sample m maps (not skips) in the
// order read.
func modelSamples(b *testing.B, m *Mapper) (map[optikpi.Kind]*kgo.Record, []*kgo.Record) {
	b.Helper()
	first := map[optikpi.Kind]*kgo.Record{}
	var all []*kgo.Record
	samples := readSamples(b)
	topics := slices.Sorted(maps.Keys(samples))
	for _, topic := range topics {
		for i, v := range samples[topic] {
			rec := &kgo.Record{Topic: topic, Partition: 1, Offset: int64(i), Value: v}
			res, err := m.Map(rec)
			if err != nil {
				b.Fatalf("%s line %d: %v", topic, i+1, err)
			}
			if res.Skipped {
				continue
			}
			all = append(all, rec)
			if first[res.Record.Kind] == nil {
				first[res.Record.Kind] = rec
			}
		}
	}
	for _, k := range optikpi.Kinds() {
		if first[k] == nil {
			b.Fatalf("no sample maps to %s", k)
		}
	}
	return first, all
}

// BenchmarkParse is the parse stage per model: load's one pass, which
// checks that the value is one JSON object and notes the values of the keys
// its topic's routes read.
func BenchmarkParse(b *testing.B) {
	m := exampleMapper(b, false)
	first, _ := modelSamples(b, m)
	for _, k := range optikpi.Kinds() {
		rec := first[k]
		pl := m.byTopic[rec.Topic].plan
		b.Run(k.String(), func(b *testing.B) {
			var d doc
			b.SetBytes(int64(len(rec.Value)))
			b.ReportAllocs()
			for b.Loop() {
				if !d.load(rec, pl) {
					b.Fatal("load refused the sample")
				}
			}
		})
	}
}

// BenchmarkMapModel maps a reference sample of each model: parse, route,
// map, validate and encode.
func BenchmarkMapModel(b *testing.B) {
	m := exampleMapper(b, false)
	first, _ := modelSamples(b, m)
	for _, k := range optikpi.Kinds() {
		rec := first[k]
		b.Run(k.String(), func(b *testing.B) { benchmarkRecord(b, m, rec) })
	}
}

// BenchmarkRecordPath is the relay's CPU per record before the request:
// map each record and join 500 into a batch body, as the sink does. The
// deposits are the reference traffic; mix cycles through every
// reference sample that maps, all nine models.
func BenchmarkRecordPath(b *testing.B) {
	const batch = 500
	m := exampleMapper(b, false)
	_, all := modelSamples(b, m)
	var deposits []*kgo.Record
	for _, rec := range all {
		if bytes.Contains(rec.Value, []byte(`"type":"deposit.`)) {
			deposits = append(deposits, rec)
		}
	}
	for _, tc := range []struct {
		name string
		recs []*kgo.Record
	}{{"deposits", deposits}, {"mix", all}} {
		b.Run(tc.name, func(b *testing.B) {
			objs := make([][]byte, batch)
			var body []byte
			next := 0
			b.ReportAllocs()
			for b.Loop() {
				for i := range objs {
					res, err := m.Map(tc.recs[next])
					if err != nil {
						b.Fatal(err)
					}
					objs[i] = res.Record.JSON
					next = (next + 1) % len(tc.recs)
				}
				body = optikpi.AppendBatch(body[:0], objs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/record")
		})
	}
}

// BenchmarkCheckObject is the slow path's check (checkValue), which a value
// passes only when load refused it: one JSON object, not too deep, valid
// UTF-8, and no key twice in one object. BenchmarkParse is what nearly
// every value costs.
func BenchmarkCheckObject(b *testing.B) {
	m := exampleMapper(b, false)
	first, _ := modelSamples(b, m)
	for _, k := range []optikpi.Kind{optikpi.KindCustomer, optikpi.KindDeposit} {
		rec := first[k]
		b.Run(k.String(), func(b *testing.B) {
			b.SetBytes(int64(len(rec.Value)))
			b.ReportAllocs()
			for b.Loop() {
				if msg := checkObject(rec.Value); msg != "" {
					b.Fatal(msg)
				}
			}
		})
	}
}

// BenchmarkMapDuplicateKey maps a deposit whose value gives a key twice:
// the rare path that rewrites the value so that the last value wins.
func BenchmarkMapDuplicateKey(b *testing.B) {
	v := sample(b, "payments", `"type":"deposit.completed"`)
	v = append(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("}")), `,"type":"deposit.completed"}`...)
	benchmarkMap(b, "payments", v)
}

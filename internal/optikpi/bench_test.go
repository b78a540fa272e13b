package optikpi

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// depositRecords returns n deposits shaped like the relay's mapper output:
// strings, json.Number amounts, a null, and two fields outside the table.
func depositRecords(n int) []Record {
	base := time.Date(2024, 1, 15, 14, 45, 0, 0, time.UTC)
	out := make([]Record, n)
	for i := range out {
		out[i] = Record{
			"account_id":            testAccount,
			"workspace_id":          testWorkspace,
			"user_id":               fmt.Sprintf("user%06d", 100000+i%997),
			"event_category":        "Deposit",
			"event_name":            "Successful Deposit",
			"event_id":              fmt.Sprintf("evt_dep_%09d", 987654321+i),
			"event_time":            base.Add(time.Duration(i) * 1500 * time.Millisecond).Format("2006-01-02T15:04:05.000Z"),
			"amount":                json.Number(fmt.Sprintf("%d.%02d", 10+i%490, i%100)),
			"payment_method":        "credit_card",
			"transaction_id":        fmt.Sprintf("txn_%012d", 123456789+i),
			"payment_provider_id":   "provider123",
			"payment_provider_name": "Chase Bank",
			"failure_reason":        nil,
			"currency":              "EUR",
			"status":                "completed",
		}
	}
	return out
}

// BenchmarkEncodeSignBatch500 is the relay's per-batch hot path: validate and
// encode 500 deposits, join them into one body and sign it.
func BenchmarkEncodeSignBatch500(b *testing.B) {
	const n = 500
	recs := depositRecords(n)
	signer := NewSigner(Credentials{Token: "benchmark-token", AccountID: testAccount, WorkspaceID: testWorkspace})
	objs := make([][]byte, n)
	var body []byte
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i, r := range recs {
			e, err := Encode(KindDeposit, r, ValidateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			objs[i] = e.JSON
		}
		body = AppendBatch(body[:0], objs)
		if sig := signer.Sign(body); len(sig) != 64 {
			b.Fatalf("signature %q is not 64 hex digits", sig)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	b.ReportMetric(float64(len(body)), "body-bytes")
}

func BenchmarkValidateCustomer(b *testing.B) {
	r := samples()[KindCustomer]
	r["phone_number"] = "+1234567890"
	r["country"] = "DE"
	r["city"] = "Berlin"
	r["language"] = "de"
	r["account_status"] = "Active"
	r["vip_status"] = "Regular"
	r["email_verification"] = "Verified"
	for _, o := range modes {
		b.Run(fmt.Sprintf("strict=%v", o.Strict), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := KindCustomer.Validate(r, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeBatch500 is the encode stage as the mapper runs it: 500
// deposits set on a reused Builder, validated, encoded and joined into one
// body, without signing (BenchmarkSign).
func BenchmarkEncodeBatch500(b *testing.B) {
	const n = 500
	recs := depositRecords(n)
	type field struct {
		name  string
		index int // -1 for an extra field
		v     Value
	}
	sets := make([][]field, n)
	for i, r := range recs {
		for name, v := range r {
			val, ok := ValueOf(v)
			if !ok {
				b.Fatalf("%s: %v is not a Value", name, v)
			}
			j, known := KindDeposit.FieldIndex(name)
			if !known {
				j = -1
			}
			sets[i] = append(sets[i], field{name, j, val})
		}
	}
	objs := make([][]byte, n)
	var body []byte
	var bld Builder
	b.ReportAllocs()
	for b.Loop() {
		for i, fs := range sets {
			bld.Reset(KindDeposit)
			for _, f := range fs {
				if f.index < 0 {
					bld.SetExtra(f.name, f.v)
				} else {
					bld.Set(f.index, f.v)
				}
			}
			e, err := bld.Encode(ValidateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			objs[i] = e.JSON
		}
		body = AppendBatch(body[:0], objs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
	b.ReportMetric(float64(len(body)), "body-bytes")
}

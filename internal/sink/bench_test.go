package sink

import (
	"context"
	"sync"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

// BenchmarkSend measures the sink's whole path per record: queue, batch,
// encode the body, sign, POST over loopback to an emulator that checks the
// signature and counts records without validating them. b.N records are
// sent; ns/op is per record.
func BenchmarkSend(b *testing.B) {
	for _, tc := range []struct {
		name string
		recs func(testing.TB, int) []optikpi.Encoded
	}{
		{"deposits", deposits},
		{"customers", func(t testing.TB, n int) []optikpi.Encoded {
			out := make([]optikpi.Encoded, n)
			for i := range out {
				out[i] = customer(t, "u"+string(rune('a'+i%26))+string(rune('a'+i/26%26)), i)
			}
			return out
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			_, srv := newEmulator(b, func(c *emulator.Config) {
				c.Validate = false
				c.KeepRecords = false
				c.RateLimit = false
			})
			s := newSink(b, srv.URL+"/apigw/ingest", nil, testOptions())
			pool := tc.recs(b, 1000)
			var wg sync.WaitGroup
			wg.Add(b.N)
			done := func(f *Failure) {
				if f != nil {
					b.Errorf("failed: %v", f)
				}
				wg.Done()
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := s.Send(ctx, testDest, pool[i%len(pool)], done); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
		})
	}
}

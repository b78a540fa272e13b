package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// BenchmarkPost500 is one request of 500 deposits as a sender makes it: the
// body joined, signed and posted to an httptest server that answers as the
// API does, with 500 record ids. Allocations of the server's side of the
// loopback are counted too; they are the same before and after a change of
// the sink.
func BenchmarkPost500(b *testing.B) {
	const n = 500
	answer := []byte(`{"message":"500 record(s) processed successfully","recordIds":[`)
	for i := range n {
		if i > 0 {
			answer = append(answer, ',')
		}
		answer = fmt.Appendf(answer, `"rec-%012d"`, i)
	}
	answer = fmt.Appendf(answer, `],"count":%d}`, n)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header()["Content-Type"] = []string{"application/json"}
		w.Write(answer)
	}))
	b.Cleanup(srv.Close)
	s := newSink(b, srv.URL+"/apigw/ingest", nil, testOptions())
	ep := s.dests[testDest].endpoints[optikpi.KindDeposit]
	items := make([]item, n)
	for i, rec := range deposits(b, n) {
		items[i] = item{rec: rec, done: func(*Failure) {}}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if oe, _ := ep.post(ctx, items); oe != nil {
			b.Fatal(oe)
		}
	}
}

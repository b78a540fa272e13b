package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

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
			done, wait := acks(b, b.N)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := s.Send(ctx, testDest, pool[i%len(pool)], done); err != nil {
					b.Fatal(err)
				}
			}
			wait()
		})
	}
}

// BenchmarkSendParallel is the sink's path per record as the relay takes it:
// deposits (Alone, as the mapper's are, so queued without a copy) sent from
// three goroutines per CPU at once, as the relay's per-partition workers
// send them (six partitions on 2 CPUs), into one endpoint, posted in
// batches of 500 to a server that answers at once (see BenchmarkPost500),
// so that queueing and batching weigh more than in BenchmarkSend. Besides
// ns/op it reports cpu-ns/op, the process's CPU time (user and system, the
// server's included) per record, which on a shared machine varies less
// than the wall time.
func BenchmarkSendParallel(b *testing.B) {
	sendParallel(b, newSink(b, answering(b, MaxBatchSize)+"/apigw/ingest", nil, testOptions()))
}

// sendParallel sends b.N deposits to s from three goroutines per CPU and
// waits for every one to be final; besides ns/op it reports cpu-ns/op.
func sendParallel(b *testing.B, s *Sink) {
	pool := deposits(b, 1000)
	done, wait := acks(b, b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(3) // 3 × GOMAXPROCS goroutines
	cpu0 := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := s.Send(ctx, testDest, pool[i%len(pool)], done); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	wait()
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkPost500 is one request of 500 deposits as a sender makes it: the
// body joined, signed and posted to an httptest server that answers as the
// API does, with 500 record ids. Allocations of the server's side of the
// loopback are counted too; they are the same before and after a change of
// the sink.
func BenchmarkPost500(b *testing.B) {
	const n = 500
	s := newSink(b, answering(b, n)+"/apigw/ingest", nil, testOptions())
	ep := s.dests[testDest].endpoints[optikpi.KindDeposit]
	items := make([]item, n)
	for i, rec := range deposits(b, n) {
		items[i] = item{json: rec.JSON, o: doneFunc(func(*Failure) {})}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if oe, _ := ep.post(ctx, items); oe != nil {
			b.Fatal(oe)
		}
	}
}

// answering starts an httptest server that answers every request as the
// API answers one of n records, and returns its URL.
func answering(b *testing.B, n int) string {
	answer := fmt.Appendf(nil, `{"message":"%d record(s) processed successfully","recordIds":[`, n)
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
	return srv.URL
}

// acks returns the done of n records, which fails tb on a failure, and a
// wait for every one of them.
func acks(tb testing.TB, n int) (done func(*Failure), wait func()) {
	var wg sync.WaitGroup
	wg.Add(n)
	return func(f *Failure) {
		if f != nil {
			tb.Errorf("failed: %v", f)
		}
		wg.Done()
	}, wg.Wait
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkQueue is the sink's part of a record's way without the request:
// SendTo, the lane's channel, the batcher, and the acknowledgement of each
// batch (succeed: counts, records_queued and every record's Final), from
// three goroutines per CPU into one endpoint, as BenchmarkSendParallel
// sends. The lane's batches go to the benchmark's own goroutine, which
// acknowledges them at once, in place of the senders' signing and posting,
// which weigh ten times as much and would hide what is measured here.
func BenchmarkQueue(b *testing.B) {
	s := newSink(b, "http://127.0.0.1:1/apigw/ingest", nil, testOptions())
	ep := s.dests[testDest].endpoints[optikpi.KindDeposit]
	orig := ep.lanes[0]
	l := newLane(ep, cap(orig.in))
	ep.lanes[0] = l
	s.wg.Add(1)
	go l.batch()
	go func() { // ends when Close closes the lane
		for bt := range l.out {
			ep.succeed(bt.items)
			s.batches.put(bt)
		}
	}()
	// The lane it replaced, having no record, stops when the sink closes.
	sendParallel(b, s)
}

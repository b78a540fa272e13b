package replay_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/replay"
)

// BenchmarkReplay replays 5000 dead deposits to the emulator per iteration
// (a new run each time): selection, mapping, delivery and progress commits.
func BenchmarkReplay(b *testing.B) {
	const n = 5000
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "players", "payments"), kfake.SeedTopics(1, "relay.dlq"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.Setenv("REPLAY_TEST_TOKEN", "unused")
	cfg, err := config.Parse(fmt.Appendf(nil, configYAML, fixed), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg.Kafka.Brokers = c.ListenAddrs()
	emus, err := demo.StartEmulators(cfg, func(_ string, c *emulator.Config) { c.Strict, c.RateLimit = false, false })
	if err != nil {
		b.Fatal(err)
	}
	defer emus.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	w, err := dlq.NewWriter(cl, dlq.Options{Topic: "relay.dlq"})
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	ts := time.Now()
	for i := range n {
		wg.Add(1)
		src := &kgo.Record{Topic: "payments", Partition: int32(i % 2), Offset: int64(i), Key: fmt.Appendf(nil, "p%d", i%100), Value: fmt.Appendf(nil, `{"amount":%d}`, i), Timestamp: ts}
		w.Write(context.Background(), dlq.Entry{Source: src, Reason: failure.Invalid}, func(err error) {
			if err != nil {
				b.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	b.ResetTimer()
	runs := 0
	for b.Loop() {
		runs++
		sum, err := replay.Replay(context.Background(), cfg, replay.Options{RunID: fmt.Sprint("bench", runs), Pipeline: pipeline.Options{Tokens: emus.Tokens}})
		if err != nil || sum.Counts[replay.Delivered] != n {
			b.Fatalf("delivered %d of %d: %v", sum.Counts[replay.Delivered], n, err)
		}
	}
	b.ReportMetric(float64(n*runs)/b.Elapsed().Seconds(), "records/s")
}

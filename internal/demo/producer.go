package demo

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
)

// producer writes generated events to the embedded Kafka and tallies what the
// generator says each one should become.
type producer struct {
	cl    *kgo.Client
	g     *gen.Generator
	acked atomic.Int64

	mu        sync.Mutex
	err       error
	delivered map[string]int64         // model name -> events that should reach Optikpi
	dead      map[failure.Reason]int64 // reason -> events that should be dead-lettered
	skipped   int64                    // events a skip route should drop
}

func newProducer(brokers []string, seed int64) (*producer, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(5*time.Millisecond),
		kgo.AllowAutoTopicCreation()) // for a dev broker without the topics yet
	if err != nil {
		return nil, err
	}
	return &producer{
		cl:        cl,
		g:         gen.New(seed, gen.Options{SkipRate: 0.02}), // show that skipped records are counted too
		delivered: make(map[string]int64),
		dead:      make(map[failure.Reason]int64),
	}, nil
}

func (p *producer) close() { p.cl.Close() }

// count is how many events the broker has acknowledged.
func (p *producer) count() int64 { return p.acked.Load() }

func (p *producer) send(ctx context.Context) {
	ev := p.g.Next()
	p.mu.Lock()
	switch {
	case ev.Expect.Skipped:
		p.skipped++
	case ev.Expect.Reason == "":
		p.delivered[ev.Expect.Model]++
	default:
		p.dead[ev.Expect.Reason]++
	}
	p.mu.Unlock()
	p.cl.Produce(ctx, &kgo.Record{Topic: ev.Topic, Key: ev.Key, Value: ev.Value}, func(_ *kgo.Record, err error) {
		if err != nil {
			p.mu.Lock()
			if p.err == nil {
				p.err = err
			}
			p.mu.Unlock()
			return
		}
		p.acked.Add(1)
	})
}

// produce writes n events and waits for the broker to acknowledge them.
func (p *producer) produce(ctx context.Context, n int) error {
	for i := 0; i < n && ctx.Err() == nil; i++ {
		p.send(ctx)
	}
	if err := p.cl.Flush(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// follow writes about perSecond events a second until ctx is done.
func (p *producer) follow(ctx context.Context, perSecond int) error {
	const ticksPerSecond = 10
	tick := time.NewTicker(time.Second / ticksPerSecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			for i := 0; i < perSecond/ticksPerSecond; i++ {
				p.send(ctx)
			}
		}
	}
}

func (p *producer) expectations() (delivered map[string]int64, dead map[failure.Reason]int64, skipped int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delivered = make(map[string]int64, len(p.delivered))
	for k, v := range p.delivered {
		delivered[k] = v
	}
	dead = make(map[failure.Reason]int64, len(p.dead))
	for k, v := range p.dead {
		dead[k] = v
	}
	return delivered, dead, p.skipped
}

// Produce writes the reference traffic of the demo to the Kafka at brokers:
// records events (with about 1% bad ones), or with perSecond > 0 about that
// many a second until ctx is done. It returns how many the broker
// acknowledged. It is how `relay dev produce` feeds a relay under `relay run`.
func Produce(ctx context.Context, brokers []string, records, perSecond int, seed int64) (int64, error) {
	p, err := newProducer(brokers, seed)
	if err != nil {
		return 0, err
	}
	defer p.close()
	if perSecond > 0 {
		err = p.follow(ctx, perSecond)
		if ferr := p.cl.Flush(context.WithoutCancel(ctx)); err == nil {
			err = ferr
		}
	} else {
		err = p.produce(ctx, records)
	}
	return p.count(), err
}

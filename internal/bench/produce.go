package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/gen"
)

// producer writes generated events, stamped with the time they are made,
// and counts what the broker acknowledged.
type producer struct {
	cl      *kgo.Client
	next    func() gen.Event
	acked   atomic.Int64
	skipped atomic.Int64 // acknowledged events a skip route drops

	mu  sync.Mutex
	err error
}

// newProducer writes deposits, or with mix the nine-model traffic of the
// example configuration (with its 1% of bad events).
func newProducer(brokers []string, seed int64, mix bool, linger time.Duration) (*producer, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(linger))
	if err != nil {
		return nil, err
	}
	g := gen.New(seed, gen.Options{Clock: time.Now})
	p := &producer{cl: cl, next: g.Deposit}
	if mix {
		p.next = g.Next
	}
	return p, nil
}

func (p *producer) close() { p.cl.Close() }

// count is how many events the broker has acknowledged.
func (p *producer) count() int64 { return p.acked.Load() }

// send produces one event.
func (p *producer) send(ctx context.Context) {
	ev := p.next()
	skipped := ev.Expect.Skipped
	p.cl.Produce(ctx, &kgo.Record{Topic: ev.Topic, Key: ev.Key, Value: ev.Value}, func(_ *kgo.Record, err error) {
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			return
		}
		if skipped {
			p.skipped.Add(1)
		}
		p.acked.Add(1)
	})
}

// backlog produces n events and waits until the broker has them all.
func (p *producer) backlog(ctx context.Context, n int) error {
	for i := 0; i < n && ctx.Err() == nil; i++ {
		p.send(ctx)
	}
	return p.flush(ctx)
}

// steady produces perSecond events a second, evenly, until ctx is done or
// d has passed, then waits for the broker.
func (p *producer) steady(ctx context.Context, perSecond int, d time.Duration) error {
	const step = 5 * time.Millisecond
	tick := time.NewTicker(step)
	defer tick.Stop()
	start := time.Now()
	sent := 0
	for ctx.Err() == nil {
		elapsed := time.Since(start)
		if elapsed >= d {
			break
		}
		for due := int(elapsed.Seconds() * float64(perSecond)); sent < due; sent++ {
			p.send(ctx)
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	return p.flush(ctx)
}

func (p *producer) flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

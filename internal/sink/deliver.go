package sink

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// send delivers the lane's batches, one at a time, until the batcher stops.
func (l *lane) send() {
	defer l.ep.d.s.wg.Done()
	for b := range l.out {
		l.ep.deliver(b.items)
		l.ep.d.s.batches.put(b)
	}
}

// deliver sends items as one request until every one of them is final or
// abandoned. It returns only then, so a lane's next batch waits for it.
func (ep *endpoint) deliver(items []item) {
	s := ep.d.s
	ctx := s.hard
	probing := false // this sender probes the misconfigured destination
	for {
		if !probing && !ep.d.gate.wait(ctx) {
			ep.abandonItems(items)
			return
		}
		if items = ep.dropDisowned(items); len(items) == 0 {
			return
		}
		oe, disowned := ep.post(ctx, items)
		if disowned {
			continue // the client stopped before an attempt: drop and send the rest
		}
		if oe != nil && ctx.Err() != nil {
			ep.abandonItems(items) // not final: the client gave up because Close did
			return
		}
		misconfigured := oe != nil && oe.Class == optikpi.Misconfigured
		if probing && !misconfigured {
			ep.d.gate.heal()
			probing = false
		}
		switch {
		case oe == nil:
			ep.succeed(items)
			return
		case misconfigured:
			if probing = ep.d.gate.trip(oe, probing); probing && !sleep(ctx, s.opts.MisconfiguredRetry) {
				ep.abandonItems(items)
				return
			}
			// A sender that is not the prober waits for the gate, then
			// sends the same batch again.
		case oe.Class == optikpi.Rejected:
			ep.split(items, oe)
			return
		case s.opts.Retry.MaxAttempts > 0:
			ep.fail(items, newFailure(failure.RetriesExhausted, oe))
			return
		default:
			// Throttled or transient with unbounded retries: the client
			// only stops for a done context, so this is a safety net.
			ep.log.Warn("send stopped before delivery; sending again", zap.Error(oe))
			if !sleep(ctx, s.opts.Retry.MinBackoff+time.Second) {
				ep.abandonItems(items)
				return
			}
		}
	}
}

// split handles a rejected request: a record rejected alone fails; a batch
// is split so that only the records the API refuses alone fail. The parts are
// delivered in order, one after the other, which keeps per-user order.
func (ep *endpoint) split(items []item, oe *optikpi.Error) {
	if len(items) == 1 {
		reason := failure.Rejected
		if oe.Status == http.StatusRequestEntityTooLarge {
			reason = failure.TooLarge
		}
		ep.fail(items, newFailure(reason, oe))
		return
	}
	// The API may name the first bad record (badIndex): send those before
	// it (all good if the hint is right), it alone, then those after it. A
	// wrong hint costs requests, never a good record.
	if i, ok := badIndex(oe, len(items)); ok {
		ep.log.Debug("batch rejected; isolating the record it names", zap.Int("records", len(items)), zap.Int("index", i), zap.Error(oe))
		if i > 0 {
			ep.deliver(items[:i])
		}
		ep.deliver(items[i : i+1])
		if i+1 < len(items) {
			ep.deliver(items[i+1:])
		}
		return
	}
	ep.log.Debug("batch rejected; bisecting", zap.Int("records", len(items)), zap.Error(oe))
	mid := len(items) / 2
	ep.deliver(items[:mid])
	ep.deliver(items[mid:])
}

// post sends items as one request: nil when delivered, else the outcome.
// disowned is set when an attempt was not made because one of items was
// disowned (see checkOwned).
func (ep *endpoint) post(ctx context.Context, items []item) (oe *optikpi.Error, disowned bool) {
	body := ep.d.s.bodies.get(items)
	ep.m.batchRecords.Observe(float64(len(items)))
	ep.m.batchBytes.Observe(float64(len(body.buf)))
	ctx, stop := withOwners(ctx, items)
	defer stop()
	ep.m.inFlight.Inc()
	err := ep.d.client.Post(ctx, ep.kind, body.buf, body.release)
	ep.m.inFlight.Dec()
	return outcome(err), err != nil && errors.Is(context.Cause(ctx), errDisowned)
}

func newFailure(reason failure.Reason, oe *optikpi.Error) *Failure {
	return &Failure{Reason: reason, Status: oe.Status, APIError: oe.Body, Message: oe.Error(), Attempts: oe.Attempts}
}

func (ep *endpoint) succeed(items []item) {
	ep.m.delivered.Add(float64(len(items)))
	ep.finished.Add(int64(len(items)))
	at := time.Now()
	for _, it := range items {
		it.o.Final(nil, at)
	}
}

// fail calls every item's done with its own copy of f.
func (ep *endpoint) fail(items []item, f *Failure) {
	f.Destination, f.Endpoint = ep.d.name, ep.path
	ep.m.failed[f.Reason].Add(float64(len(items)))
	ep.finished.Add(int64(len(items)))
	ep.log.Warn("records failed", zap.String("reason", string(f.Reason)), zap.Int("records", len(items)),
		zap.Int("status", f.Status), zap.Int("attempts", f.Attempts), zap.String("message", f.Message))
	at := time.Now()
	for _, it := range items {
		c := *f
		it.o.Final(&c, at)
	}
}

// abandonItems gives items up: their done is never called.
func (ep *endpoint) abandonItems(items []item) {
	if len(items) == 0 {
		return
	}
	ep.d.s.abandoned.Add(int64(len(items)))
	ep.finished.Add(int64(len(items)))
}

// sleep waits for d, reporting false if ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

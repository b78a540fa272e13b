package pipeline

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/sink"
)

// Ready reports whether the pipeline can deliver: nil, or why not. It is
// not ready until the consumer has joined its group, from the end of a
// group session until it rejoins, and while a destination is
// misconfigured. The reasons never carry a token.
func (p *Pipeline) Ready() error { return errors.Join(p.consumer.Ready(), p.sink.Ready()) }

// Live reports whether the relay is alive: nil unless its consumer loop
// stopped on its own, which only a restart mends. A relay waiting on a
// slow or refusing API is alive; Ready says why it does not deliver.
func (p *Pipeline) Live() error { return p.consumer.Live() }

// checker is a sender that can check its destinations, as the sink does.
type checker interface {
	Check(ctx context.Context) []sink.DestinationCheck
}

// healthTimeout bounds the start-up check of the destinations.
const healthTimeout = 10 * time.Second

// checkDestinations checks every destination while the consumer joins its
// group (sink.Check: the health endpoint, then a signed empty batch) and
// logs the answers, so that a wrong base URL, an unreachable API or a
// refused token shows in the first lines of the log. A refused token
// makes the relay not ready; nothing stops the start. The returned
// function stops the check and waits for it.
func (p *Pipeline) checkDestinations(ctx context.Context) (stop func()) {
	chk, ok := p.sink.(checker)
	if !ok {
		return func() {}
	}
	cctx, cancel := context.WithTimeout(ctx, healthTimeout)
	done := make(chan struct{})
	go func() {
		defer close(done)
		checks := chk.Check(cctx)
		if ctx.Err() != nil {
			return // stopping: the answers mean nothing
		}
		for _, c := range checks {
			dest := zap.String("destination", c.Destination)
			switch {
			case c.Result == sink.CheckMisconfigured:
				p.logger.Error("destination refused the credentials or the base URL; not ready, its records wait until it accepts them", dest, zap.Error(c.Err))
			case c.Result != sink.CheckOK:
				p.logger.Warn("destination health check failed; relaying anyway, requests are retried", dest, zap.Error(c.Err))
			case c.Health == optikpi.HealthUnknown:
				p.logger.Info("destination has no health endpoint (404); credentials accepted", dest)
			default:
				p.logger.Info("destination healthy; credentials accepted", dest)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

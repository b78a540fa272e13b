package sink

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// Results of Check, the values of the result label of
// optikpi_relay_sink_destination_check.
const (
	// CheckOK: the API answered and took the credentials.
	CheckOK = "ok"
	// CheckMisconfigured: the API refused the credentials or the path
	// (401, 403, 404), or a 4xx came that is not the API's answer (a
	// proxy's; optikpi.ClassifyAnswer).
	CheckMisconfigured = "misconfigured"
	// CheckUnreachable: no answer, a server error or throttling; nothing
	// is known about the credentials.
	CheckUnreachable = "unreachable"
)

var checkResults = []string{CheckOK, CheckMisconfigured, CheckUnreachable}

// probeKind is the endpoint probed: any checks the same credentials; an
// event endpoint has the most requests per second to spare.
const probeKind = optikpi.KindAccount

// probeBody is an empty batch: it holds no record, so nothing is stored.
var probeBody = []byte("[]")

// DestinationCheck is one destination's answer to Check.
type DestinationCheck struct {
	Destination string
	Health      optikpi.Health // the health endpoint's answer
	Result      string         // CheckOK, CheckMisconfigured or CheckUnreachable
	Err         error          // why not CheckOK, nil otherwise
}

// Check asks every destination, all at the same time, whether it can be
// delivered to, and blocks until each has answered or ctx is done. First
// the health endpoint, which the guide has without credentials; unless that
// failed, then a probe: a signed request with an empty batch, since the
// guide has no authenticated request that does nothing. The API takes the
// credentials before it looks at the body, so it refuses an empty batch
// with 400 when they are good and with 401 or 403 when not (404: a wrong
// base URL). The answers are in the order of the destinations given to
// New, and show in optikpi_relay_sink_destination_check.
//
// A refused probe marks the destination misconfigured at once, as a
// refused batch would: Ready reports it, its records wait, and the probe
// is sent again every MisconfiguredRetry until it is accepted.
func (s *Sink) Check(ctx context.Context) []DestinationCheck {
	out := make([]DestinationCheck, len(s.order))
	var wg sync.WaitGroup
	for i, d := range s.order {
		wg.Go(func() { out[i] = d.check(ctx) })
	}
	wg.Wait()
	return out
}

func (d *destination) check(ctx context.Context) DestinationCheck {
	c := DestinationCheck{Destination: d.name, Result: CheckUnreachable}
	c.Health, c.Err = d.client.Health(ctx)
	if c.Health == optikpi.HealthDown {
		d.setCheck(c.Result)
		return c
	}
	oe := d.probe(ctx)
	c.Result, c.Err = probeResult(oe)
	d.setCheck(c.Result)
	if c.Result == CheckMisconfigured && d.gate.trip(oe, false) {
		d.s.mu.Lock()
		if !d.s.closed.Load() {
			d.s.wg.Add(1)
			go d.reprobe()
		}
		d.s.mu.Unlock()
	}
	return c
}

// probeResult says what a probe's outcome means.
func probeResult(oe *optikpi.Error) (string, error) {
	switch {
	case oe == nil || oe.Class == optikpi.Rejected:
		return CheckOK, nil // past authentication
	case oe.Class == optikpi.Misconfigured:
		return CheckMisconfigured, oe
	default:
		return CheckUnreachable, oe
	}
}

// probe sends the empty batch; nil when the API took it whole.
func (d *destination) probe(ctx context.Context) *optikpi.Error {
	_, err := d.client.Send(context.WithValue(ctx, probeKey{}, true), probeKind, probeBody)
	return outcome(err)
}

// outcome returns Send's error as an *optikpi.Error, nil for nil.
func outcome(err error) *optikpi.Error {
	if err == nil {
		return nil
	}
	var oe *optikpi.Error
	if !errors.As(err, &oe) {
		oe = &optikpi.Error{Class: optikpi.Transient, Err: err}
	}
	return oe
}

// reprobe probes a destination whose gate Check closed every
// MisconfiguredRetry, until the answer is no longer a refusal or the sink
// closes. It is the gate's prober: no sender sends meanwhile.
func (d *destination) reprobe() {
	s := d.s
	defer s.wg.Done()
	t := time.NewTimer(s.opts.MisconfiguredRetry)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		ctx, cancel := s.untilClosing(s.hard, s.opts.RequestTimeout)
		oe := d.probe(ctx)
		cancel()
		select {
		case <-s.closing:
			return
		default:
		}
		result, _ := probeResult(oe)
		if result != CheckMisconfigured {
			d.setCheck(result)
			d.gate.heal()
			return
		}
		d.gate.trip(oe, true)
		t.Reset(s.opts.MisconfiguredRetry)
	}
}

// untilClosing returns a context that ends after timeout, with ctx, or
// when Close starts.
func (s *Sink) untilClosing(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// probeKey marks a probe's requests, which the request metrics leave out.
type probeKey struct{}

func isProbe(ctx context.Context) bool { return ctx.Value(probeKey{}) != nil }

func newCheckGauge() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Subsystem: subsystem, Name: "destination_check",
		Help: "1 for the result (ok, misconfigured, unreachable) of the destination's last check: at start-up, the health endpoint and a signed empty batch; then the probes of a misconfigured destination.",
	}, []string{"destination", "result"})
}

// setCheck makes result the destination's one check result at 1.
func (d *destination) setCheck(result string) {
	for _, r := range checkResults {
		v := 0.0
		if r == result {
			v = 1
		}
		d.s.checkGauge.WithLabelValues(d.name, r).Set(v)
	}
}

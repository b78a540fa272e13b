package sink

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// destination is one Destination's client, endpoints and readiness.
type destination struct {
	s         *Sink
	name      string
	client    *optikpi.Client
	endpoints [optikpi.KindSystemEvent + 1]*endpoint // by Kind; [0] unused
	gate      gate
	log       *zap.Logger
}

func (s *Sink) newDestination(d Destination, hc *http.Client) (*destination, error) {
	dest := &destination{s: s, name: d.Name, log: s.log.With(zap.String("destination", d.Name))}
	dest.gate = gate{log: dest.log, ready: s.metrics.ready.WithLabelValues(d.Name), probeEvery: s.opts.MisconfiguredRetry}
	dest.gate.ready.Set(1)
	for _, k := range optikpi.Kinds() {
		dest.endpoints[k] = newEndpoint(dest, k)
	}

	// Count and time every attempt, retries included, in the transport the
	// client's own wraps.
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	instrumented := *hc
	instrumented.Transport = &instrumentedTransport{next: next, dest: dest}
	client, err := optikpi.NewClient(d.BaseURL, d.AccountID, d.WorkspaceID, d.Token,
		optikpi.WithHTTPClient(&instrumented),
		optikpi.WithTimeout(s.opts.RequestTimeout),
		optikpi.WithRetry(s.opts.Retry),
		optikpi.WithRateLimits(s.opts.RateLimits),
		optikpi.WithLogger(dest.log),
		optikpi.WithRateWaitObserver(dest.observeRateWait),
	)
	if err != nil {
		return nil, err
	}
	dest.client = client
	return dest, nil
}

// observeRateWait counts the time an attempt waited on kind's rate limiter.
func (d *destination) observeRateWait(kind optikpi.Kind, waited time.Duration) {
	if kind.Valid() && d.endpoints[kind] != nil {
		d.endpoints[kind].m.rateWait.Add(waited.Seconds())
	}
}

// start starts every endpoint's batchers and senders.
func (d *destination) start() {
	for _, ep := range d.endpoints {
		if ep == nil {
			continue
		}
		for _, l := range ep.lanes {
			d.s.wg.Add(1 + ep.senders)
			go l.batch()
			for range ep.senders {
				go l.send()
			}
		}
	}
}

// endpointFor returns the endpoint whose path ends path, nil if none.
func (d *destination) endpointFor(path string) *endpoint {
	for _, ep := range d.endpoints {
		if ep != nil && strings.HasSuffix(path, ep.path) {
			return ep
		}
	}
	return nil
}

// gate stops a misconfigured destination. The sender that meets the
// misconfiguration first becomes its prober: it alone sends again, the same
// batch every probeEvery, while every other sender of the destination waits
// for the gate to open.
type gate struct {
	log        *zap.Logger
	ready      prometheus.Gauge
	probeEvery time.Duration

	mu     sync.Mutex
	down   bool
	cause  error         // the last misconfigured outcome, while down
	healed chan struct{} // closed when the gate opens again
}

// wait blocks while the gate is down. It reports false if ctx ended first.
func (g *gate) wait(ctx context.Context) bool {
	g.mu.Lock()
	down, healed := g.down, g.healed
	g.mu.Unlock()
	if !down {
		return true
	}
	select {
	case <-healed:
		return true
	case <-ctx.Done():
		return false
	}
}

// trip records a misconfigured outcome and reports whether the caller is
// to probe: true when it closed the gate, or is already the prober.
func (g *gate) trip(cause error, prober bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down && !prober {
		return false
	}
	g.cause = cause
	if !g.down {
		g.down = true
		g.healed = make(chan struct{})
		g.ready.Set(0)
		g.log.Error("destination misconfigured: delivery stopped, nothing is dead-lettered; probing again periodically",
			zap.Error(cause), zap.Duration("probe_every", g.probeEvery))
	}
	return true
}

// heal opens the gate.
func (g *gate) heal() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.down {
		return
	}
	g.down, g.cause = false, nil
	close(g.healed)
	g.ready.Set(1)
	g.log.Info("destination answered again: delivery resumed")
}

// err returns the misconfiguration, nil when the gate is open.
func (g *gate) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cause
}

// instrumentedTransport counts and times the HTTP attempts of the sink's
// endpoints. Like the client's own transport, it lacks CloseIdleConnections
// on purpose.
type instrumentedTransport struct {
	next http.RoundTripper
	dest *destination
}

func (t *instrumentedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkOwned(req.Context()); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	ep := t.dest.endpointFor(req.URL.Path)
	if ep == nil || isProbe(req.Context()) {
		return t.next.RoundTrip(req)
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	ep.m.duration.Observe(time.Since(start).Seconds())
	ep.m.requests[optikpi.Classify(status, err)].Inc()
	return resp, err
}

package emulator

import (
	"strings"

	"sync/atomic"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// EndpointStats counts what one endpoint saw.
type EndpointStats struct {
	Requests        int64       `json:"requests"`         // every request, whatever its answer
	Accepted        int64       `json:"accepted"`         // requests answered 200
	RecordsAccepted int64       `json:"records_accepted"` // records in them
	Rejected        int64       `json:"rejected"`         // requests answered 400 or 413
	RecordsRejected int64       `json:"records_rejected"` // records in the 400s that could be counted
	Throttled       int64       `json:"throttled"`        // requests answered 429
	Failed          int64       `json:"failed"`           // injected 500s and 503s
	Dropped         int64       `json:"dropped"`          // injected dropped connections
	Unauthorized    int64       `json:"unauthorized"`     // requests answered 401
	Delay           *DelayStats `json:"delay,omitempty"`  // with Config.TrackDelay
}

// Stats are an emulator's counts by endpoint path, such as "/events/deposit";
// every endpoint is present.
type Stats struct {
	Endpoints map[string]EndpointStats `json:"endpoints"`
	// Delay is over every endpoint, with Config.TrackDelay.
	Delay *DelayStats `json:"delay,omitempty"`
}

// Total sums the endpoints' counts.
func (s Stats) Total() EndpointStats {
	var t EndpointStats
	for _, e := range s.Endpoints {
		t.Requests += e.Requests
		t.Accepted += e.Accepted
		t.RecordsAccepted += e.RecordsAccepted
		t.Rejected += e.Rejected
		t.RecordsRejected += e.RecordsRejected
		t.Throttled += e.Throttled
		t.Failed += e.Failed
		t.Dropped += e.Dropped
		t.Unauthorized += e.Unauthorized
	}
	return t
}

// Stats returns a snapshot of the counts.
func (e *Emulator) Stats() Stats {
	s := Stats{Endpoints: make(map[string]EndpointStats, numKinds-1)}
	var all [delayBuckets]int64
	var allMax int64
	for _, k := range optikpi.Kinds() {
		es := e.counters[k].snapshot()
		if e.delays != nil {
			c, m := e.delays[k].counts()
			d := summarize(&c, m)
			es.Delay = &d
			for i, n := range c {
				all[i] += n
			}
			allMax = max(allMax, m)
		}
		s.Endpoints[k.Endpoint()] = es
	}
	if e.delays != nil {
		d := summarize(&all, allMax)
		s.Delay = &d
	}
	return s
}

type counters struct {
	requests, accepted, recordsAccepted, rejected, recordsRejected,
	throttled, failed, dropped, unauthorized atomic.Int64
}

func (c *counters) snapshot() EndpointStats {
	return EndpointStats{
		Requests:        c.requests.Load(),
		Accepted:        c.accepted.Load(),
		RecordsAccepted: c.recordsAccepted.Load(),
		Rejected:        c.rejected.Load(),
		RecordsRejected: c.recordsRejected.Load(),
		Throttled:       c.throttled.Load(),
		Failed:          c.failed.Load(),
		Dropped:         c.dropped.Load(),
		Unauthorized:    c.unauthorized.Load(),
	}
}

func (c *counters) reset() {
	for _, a := range []*atomic.Int64{&c.requests, &c.accepted, &c.recordsAccepted, &c.rejected,
		&c.recordsRejected, &c.throttled, &c.failed, &c.dropped, &c.unauthorized} {
		a.Store(0)
	}
}

// StatsURL is where GET /_emulator/stats answers for the emulator whose
// ingest base URL is baseURL, as "relay dev optikpi" prints it.
func StatsURL(baseURL string) string { return strings.TrimSuffix(baseURL, ingestRoot) + statsPath }

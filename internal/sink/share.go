package sink

import (
	"math"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// shares divides the API's rate limits, which are per account, workspace
// and endpoint, among everything that sends to the same account: the
// members of the consumer group, and within this process the destinations
// that name the same account and workspace.
type shares struct {
	mu      sync.Mutex
	members int
	sharers map[*destination]int // destinations of the same account and workspace, itself included
	current map[*destination]*[optikpi.KindSystemEvent + 1]float64
	gauge   *prometheus.GaugeVec
}

func newShares(dests []Destination, order []*destination) *shares {
	type account struct{ id, workspace string }
	n := make(map[account]int, len(dests))
	for _, d := range dests {
		n[account{d.AccountID, d.WorkspaceID}]++
	}
	sh := &shares{
		sharers: make(map[*destination]int, len(order)),
		current: make(map[*destination]*[optikpi.KindSystemEvent + 1]float64, len(order)),
		gauge: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Subsystem: subsystem, Name: "rate_limit_requests_per_second",
			Help: "Requests per second this relay allows itself per destination and endpoint: the endpoint's limit divided by the consumer group's members and by the destinations sharing the account and workspace.",
		}, []string{"destination", "endpoint"}),
	}
	for i, d := range order {
		sh.sharers[d] = n[account{dests[i].AccountID, dests[i].WorkspaceID}]
		sh.current[d] = new([optikpi.KindSystemEvent + 1]float64)
	}
	return sh
}

// SetGroupMembers sets how many relays share the API's limits: each takes
// 1/members of every endpoint's limit (further divided among the
// destinations of this sink that name the same account and workspace). The
// pipeline calls it whenever the consumer group's membership changes;
// members below 1 count as 1. A change is logged and shows in the metric
// optikpi_relay_sink_rate_limit_requests_per_second.
func (s *Sink) SetGroupMembers(members int) {
	members = max(members, 1)
	sh := s.shares
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if members == sh.members {
		return
	}
	first := sh.members == 0
	sh.members = members
	for _, d := range s.order {
		per := make(map[string]any, len(d.endpoints))
		for _, k := range optikpi.Kinds() {
			l := float64(d.client.ShareRateLimit(k, members*sh.sharers[d]))
			sh.current[d][k] = l
			sh.gauge.WithLabelValues(d.name, k.Endpoint()).Set(l)
			if rate.Limit(l) == rate.Inf {
				// rate.Inf, the largest float64, is +Inf once rounded, which
				// JSON has no word for: zap would log the field's error.
				per[k.Endpoint()] = "unlimited"
			} else {
				per[k.Endpoint()] = math.Round(l*100) / 100
			}
		}
		msg := "rate limit share changed"
		if first {
			msg = "rate limit share"
		}
		d.log.Info(msg, zap.Int("group_members", members), zap.Int("destinations_on_account", sh.sharers[d]),
			zap.Any("requests_per_second", per))
	}
}

// RateLimit returns the requests per second dest currently allows itself
// on kind's endpoint, its share; 0 when dest or kind is unknown.
func (s *Sink) RateLimit(dest string, kind optikpi.Kind) float64 {
	d := s.dests[dest]
	if d == nil || !kind.Valid() {
		return 0
	}
	s.shares.mu.Lock()
	defer s.shares.mu.Unlock()
	return s.shares.current[d][kind]
}

package sink

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// TestSetGroupMembers: every destination takes 1/members of each endpoint's
// limit, and destinations naming the same account and workspace split it
// further.
func TestSetGroupMembers(t *testing.T) {
	dest := func(name, account string) Destination {
		return Destination{Name: name, BaseURL: "http://127.0.0.1:1", AccountID: account, WorkspaceID: testWorkspace, Token: optikpi.StaticToken(testToken)}
	}
	reg := prometheus.NewRegistry()
	opts := testOptions()
	opts.RateLimits = nil // the guide's limits
	opts.Registerer = reg
	s, err := New([]Destination{dest("a", "acc1"), dest("b", "acc1"), dest("c", "acc2")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	tests := []struct {
		members int
		want    map[string][2]float64 // destination → customers, deposits
	}{
		{1, map[string][2]float64{"a": {25, 125}, "b": {25, 125}, "c": {50, 250}}},
		{3, map[string][2]float64{"a": {50.0 / 6, 250.0 / 6}, "b": {50.0 / 6, 250.0 / 6}, "c": {50.0 / 3, 250.0 / 3}}},
		{0, map[string][2]float64{"a": {25, 125}, "b": {25, 125}, "c": {50, 250}}},
	}
	for _, tt := range tests {
		s.SetGroupMembers(tt.members)
		samples, err := telemetry.Samples(reg)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range tt.want {
			got := [2]float64{s.RateLimit(name, optikpi.KindCustomer), s.RateLimit(name, optikpi.KindDeposit)}
			if got != want {
				t.Errorf("members %d: %s: customers, deposits = %v req/s; want %v", tt.members, name, got, want)
			}
			key := fmt.Sprintf("optikpi_relay_sink_rate_limit_requests_per_second{destination=%q,endpoint=%q}", name, "/customers")
			if samples[key] != want[0] {
				t.Errorf("members %d: %s = %v; want %v", tt.members, key, samples[key], want[0])
			}
		}
	}
}

// TestRateLimitShareLogsUnlimited: an endpoint without a limit (rate.Inf,
// as relay bench configures) is logged as "unlimited", not as the JSON
// encoder's error for +Inf.
func TestRateLimitShareLogsUnlimited(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	opts := testOptions()
	opts.RateLimits = map[optikpi.Kind]rate.Limit{optikpi.KindDeposit: rate.Inf}
	opts.Logger = zap.New(core)
	s := newSink(t, "http://127.0.0.1:1", nil, opts)
	s.SetGroupMembers(1)
	entries := logs.FilterMessage("rate limit share").AllUntimed()
	if len(entries) != 1 {
		t.Fatalf("%d \"rate limit share\" entries, want 1", len(entries))
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	buf, err := enc.EncodeEntry(entries[0].Entry, entries[0].Context)
	if err != nil {
		t.Fatal(err)
	}
	if line := buf.String(); !strings.Contains(line, `"/events/deposit":"unlimited"`) || strings.Contains(line, "Error") {
		t.Errorf("logged %s; want /events/deposit unlimited and no field error", line)
	}
}

package optikpi

import (
	"testing"

	"golang.org/x/time/rate"
)

func TestShareRateLimit(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1", WithRateLimits(map[Kind]rate.Limit{KindWithdraw: rate.Inf, KindDeposit: 100}))
	tests := []struct {
		kind Kind
		n    int
		want rate.Limit
	}{
		{KindCustomer, 1, 50},
		{KindCustomer, 3, 50.0 / 3},
		{KindCustomer, 0, 50}, // below 1 counts as 1
		{KindAccount, 2, 125},
		{KindDeposit, 4, 25}, // the configured limit, not the guide's
		{KindWithdraw, 3, rate.Inf},
		{Kind(0), 3, 0},
	}
	for _, tt := range tests {
		got := c.ShareRateLimit(tt.kind, tt.n)
		if got != tt.want {
			t.Errorf("ShareRateLimit(%v, %d) = %v; want %v", tt.kind, tt.n, got, tt.want)
		}
		if l := c.limiters[tt.kind]; l != nil && l.Limit() != tt.want {
			t.Errorf("after ShareRateLimit(%v, %d): limiter paces %v; want %v", tt.kind, tt.n, l.Limit(), tt.want)
		}
	}
	if got := c.RateLimit(KindCustomer); got != 50 {
		t.Errorf("RateLimit(customer) after sharing = %v; want the configured 50", got)
	}
}

package emulator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

func TestDelayBuckets(t *testing.T) {
	for _, tt := range []struct {
		ms, floor int64
	}{
		{-5, 0}, {0, 0}, {999, 999}, {1000, 1000}, {1009, 1000}, {1010, 1010},
		{9999, 9990}, {10_000, 10_000}, {99_999, 99_900}, {100_000, 100_000},
		{999_999, 999_000}, {1_000_000, 1_000_000}, {5_000_000, 1_000_000},
	} {
		if got := bucketFloor(delayBucket(tt.ms)); got != tt.floor {
			t.Errorf("bucketFloor(delayBucket(%d)) = %d; want %d", tt.ms, got, tt.floor)
		}
	}
}

func TestDelayQuantiles(t *testing.T) {
	var h delayHistogram
	for ms := int64(1); ms <= 1000; ms++ { // 1..1000 ms, once each
		h.add(ms)
	}
	c, m := h.counts()
	got := summarize(&c, m)
	want := DelayStats{Count: 1000, P50Ms: 500, P99Ms: 990, MaxMs: 1000}
	if got != want {
		t.Errorf("summary = %+v; want %+v", got, want)
	}
	h.reset()
	c, m = h.counts()
	if got := summarize(&c, m); got != (DelayStats{}) {
		t.Errorf("after reset = %+v; want zero", got)
	}
}

// With TrackDelay the stats hold each record's arrival minus its
// event_time, per endpoint and overall; without, none.
func TestTrackDelay(t *testing.T) {
	for _, tc := range []struct {
		track, validate bool
	}{{true, false}, {true, true}, {false, false}} {
		t.Run(fmt.Sprintf("track=%v,validate=%v", tc.track, tc.validate), func(t *testing.T) {
			cfg := testConfig()
			cfg.TrackDelay, cfg.Validate = tc.track, tc.validate
			s := start(t, cfg)
			c := client(t, s)
			at := time.Now().Add(-300 * time.Millisecond).UTC().Format("2006-01-02T15:04:05.000Z")
			// 19 records in two requests: one in 8 counted across them,
			// the 1st, 9th and 17th.
			for _, n := range []int{5, 14} {
				objs := make([][]byte, n)
				for i := range objs {
					r := deposit(i)
					r["event_time"] = at
					e, err := optikpi.Encode(optikpi.KindDeposit, r, optikpi.ValidateOptions{})
					if err != nil {
						t.Fatal(err)
					}
					objs[i] = e.JSON
				}
				if _, err := c.Send(context.Background(), optikpi.KindDeposit, optikpi.AppendBatch(nil, objs)); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			var st Stats
			getJSON(t, strings.TrimSuffix(s.URL, ingestRoot)+statsPath, &st)
			dep := st.Endpoints["/events/deposit"].Delay
			if !tc.track {
				if dep != nil || st.Delay != nil {
					t.Errorf("delay = %+v, overall %+v; want none without TrackDelay", dep, st.Delay)
				}
				return
			}
			if dep == nil || st.Delay == nil {
				t.Fatalf("delay = %+v, overall %+v; want both", dep, st.Delay)
			}
			if dep.Count != 3 || dep.P50Ms < 300 || dep.P99Ms < dep.P50Ms || dep.MaxMs < dep.P99Ms || dep.P99Ms > 300+5000 {
				t.Errorf("deposit delay = %+v; want 3 of the 19 records, 300 ms <= p50 <= p99 <= max, p99 well under 5 s", *dep)
			}
			if *st.Delay != *dep {
				t.Errorf("overall delay = %+v; want the deposit endpoint's %+v, the only one used", *st.Delay, *dep)
			}
			if cust := st.Endpoints["/customers"].Delay; cust == nil || cust.Count != 0 {
				t.Errorf("customers delay = %+v; want present and empty", cust)
			}
		})
	}
}

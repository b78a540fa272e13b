package pipeline_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/kafkafault"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// TestCoordinatorOutageResendsNothing: the group coordinator stops
// answering long enough for the relay to lose its group session, while
// records are in flight to Optikpi; the group then gives the relay its
// partitions back. What was in flight is delivered once and committed
// after the outage: nothing reaches Optikpi twice.
func TestCoordinatorOutageResendsNothing(t *testing.T) {
	h := newHarness(t, 4, func(_ string, c *emulator.Config) { c.Latency = 200 * time.Millisecond })
	var down atomic.Bool
	kafkafault.CoordinatorOutage(h.cluster, &down)
	h.produce(6000, 11)
	r := h.startWith(pipeline.Options{KafkaOpts: []kgo.Opt{
		// Give up on the coordinator within a second, as a long outage
		// makes kgo do after its retries.
		kgo.RetryTimeout(time.Second),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
	}})
	waitFor(t, "a sixth of the stream done", func() (bool, string) {
		d := r.p.Stats().Done()
		return d >= int64(len(h.expect)/6), fmt.Sprintf("%d done", d)
	})
	down.Store(true)
	waitFor(t, "the group session lost", func() (bool, string) {
		err := r.p.Consumer().Ready()
		return err != nil, fmt.Sprint(err)
	})
	st := r.p.Stats()
	time.Sleep(time.Second) // records in flight finish meanwhile
	down.Store(false)
	h.waitCommitted()
	r.stop(t)
	h.verify(false)

	dups := h.duplicates()
	t.Logf("session lost with %d done, %d in flight; duplicates at Optikpi after the outage: %d", st.Done(), st.Consumed-st.Done(), dups)
	if dups != 0 {
		t.Errorf("%d records reached Optikpi twice, want 0", dups)
	}
}

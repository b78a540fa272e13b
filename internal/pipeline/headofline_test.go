package pipeline_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// TestStalledDestinationHoldsOnlyItsPartitions is issue 11's head-of-line
// blocking: the payments topic goes to a destination that answers no
// request, and its sink queue fills. The bets topic, routed to a working
// destination, must still be delivered and committed to its end, while
// payments stays uncommitted. The in-flight bound is small, so that
// payments holding all of it would stop bets too.
func TestStalledDestinationHoldsOnlyItsPartitions(t *testing.T) {
	const stalledN, flowingN = 300, 200
	h := newHarness(t, 1, nil)
	h.cfg.Kafka.Topics = []string{"payments", "bets"}
	h.topics = h.cfg.Kafka.Topics
	h.cfg.Kafka.MaxInFlightRecords = 60
	h.cfg.Sink.BatchSize = 5
	h.cfg.Sink.InFlight = 1
	h.cfg.Sink.RequestTimeout = 5 * time.Minute

	var posts atomic.Int64
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		posts.Add(1)
		select { // answers nothing until the test ends
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(stalled.Close)
	t.Cleanup(func() { close(release) })

	main := h.cfg.Destinations[0]
	slow := main
	slow.Name, slow.BaseURL = "stalled", stalled.URL+"/apigw/ingest"
	h.cfg.Destinations = append(h.cfg.Destinations, slow)
	for i := range h.cfg.Routing.Routes {
		r := &h.cfg.Routing.Routes[i]
		r.Destination = main.Name
		if r.Topic == "payments" {
			r.Destination = slow.Name
		}
	}
	tokens := maps.Clone(h.emus.Tokens)
	tokens[slow.Name] = optikpi.StaticToken("stalled-token")

	h.produceEvents(topicEvents(h, "payments", stalledN))
	r := h.startWith(pipeline.Options{Tokens: tokens})
	waitFor(t, "the stalled destination's queue full", func() (bool, string) {
		st := r.p.Consumer().Stats()
		return posts.Load() > 0 && st.InFlight >= 10, fmt.Sprintf("posts %d, %+v", posts.Load(), st)
	})

	flowing := topicEvents(h, "bets", flowingN)
	h.produceEvents(flowing)
	waitFor(t, "bets committed to its end", func() (bool, string) {
		gaps, err := pipeline.Uncommitted(context.Background(), h.adm, h.cfg.Kafka.Group, []string{"bets"})
		if err != nil {
			return false, err.Error()
		}
		return len(gaps) == 0, fmt.Sprintf("gaps %v; %+v", gaps, r.p.Consumer().Stats())
	})

	wantDelivered := 0
	for _, ev := range flowing {
		if ev.Expect.Reason == "" && !ev.Expect.Skipped {
			wantDelivered++
		}
	}
	em := h.emus.ByName[main.Name]
	gotDelivered := 0
	for _, k := range optikpi.Kinds() {
		gotDelivered += len(em.EventIDs(k))
	}
	if gotDelivered < wantDelivered {
		t.Errorf("working destination got %d records; want %d", gotDelivered, wantDelivered)
	}
	gaps, err := pipeline.Uncommitted(context.Background(), h.adm, h.cfg.Kafka.Group, []string{"payments"})
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) == 0 {
		t.Errorf("payments committed to its end while its destination answers nothing; the test stalls nothing")
	}
	t.Logf("bets: %d delivered of %d produced; payments: %d requests stalled, gaps %v; %+v", gotDelivered, flowingN, posts.Load(), gaps, r.p.Consumer().Stats())
}

// topicEvents generates n events of topic, from the harness's stream.
func topicEvents(h *harness, topic string, n int) []gen.Event {
	h.t.Helper()
	if h.gen == nil {
		h.gen = gen.New(1, gen.Options{})
	}
	var out []gen.Event
	for len(out) < n {
		if ev := h.gen.Next(); ev.Topic == topic {
			out = append(out, ev)
		}
	}
	return out
}

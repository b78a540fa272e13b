package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optikpi/optikpi-relay/internal/consume"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// probe answers GET path from a telemetry server for p.
func probe(t *testing.T, p *pipeline.Pipeline, path string) (int, string) {
	t.Helper()
	srv, err := telemetry.Listen("127.0.0.1:0", prometheus.NewRegistry(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	resp, err := http.Get("http://" + srv.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// /readyz says "not ready" with the reason until the relay has joined its
// group, then ready; /healthz is ok throughout.
func TestReadyOnceJoined(t *testing.T) {
	h := newHarness(t, 2, nil)
	// A relay whose brokers do not answer never joins.
	lost, err := pipeline.New(h.cfg, pipeline.Options{Tokens: h.emus.Tokens, KafkaOpts: []kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}})
	if err != nil {
		t.Fatal(err)
	}
	defer lost.Abort()
	if status, body := probe(t, lost, "/readyz"); status != http.StatusServiceUnavailable ||
		!strings.Contains(body, "not ready") || !strings.Contains(body, h.cfg.Kafka.Group) || !strings.Contains(body, "no assignment") {
		t.Errorf("/readyz before joining = %d %q; want 503 naming the group and the missing assignment", status, body)
	}
	if err := lost.Ready(); !errors.Is(err, consume.ErrNotJoined) {
		t.Errorf("Ready before joining = %v; want consume.ErrNotJoined", err)
	}
	if status, body := probe(t, lost, "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz before joining = %d %q; want 200", status, body)
	}

	r := h.start()
	waitFor(t, "ready", func() (bool, string) { err := r.p.Ready(); return err == nil, fmt.Sprint(err) })
	if status, body := probe(t, r.p, "/readyz"); status != http.StatusOK {
		t.Errorf("/readyz once joined = %d %q; want 200", status, body)
	}
	if status, body := probe(t, r.p, "/healthz"); status != http.StatusOK {
		t.Errorf("/healthz once joined = %d %q; want 200", status, body)
	}
	r.stop(t)
}

// A wrong token is found at start-up, before any record: the relay logs it,
// exports it and is not ready, without showing the token; nothing reaches
// Optikpi but the probe.
func TestWrongTokenFoundAtStart(t *testing.T) {
	const wrong = "not-the-token"
	h := newHarness(t, 1, nil)
	tokens := map[string]optikpi.TokenSource{"main": optikpi.StaticToken(wrong)}
	core, logs := observer.New(zapcore.InfoLevel)
	reg := prometheus.NewRegistry()
	r := h.startWith(pipeline.Options{Tokens: tokens, Logger: zap.New(core), Registerer: reg})

	waitFor(t, "the start-up check to refuse the token", func() (bool, string) {
		err := r.p.Ready()
		return err != nil && strings.Contains(err.Error(), `destination "main" is misconfigured`), fmt.Sprint(err)
	})
	status, body := probe(t, r.p, "/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, `destination "main" is misconfigured`) || !strings.Contains(body, "401") {
		t.Errorf("/readyz = %d %q; want 503 naming the destination and the 401", status, body)
	}
	if strings.Contains(body, wrong) {
		t.Errorf("/readyz shows the token: %q", body)
	}
	samples, err := telemetry.Samples(reg)
	if err != nil {
		t.Fatal(err)
	}
	for result, want := range map[string]float64{"misconfigured": 1, "ok": 0, "unreachable": 0} {
		key := fmt.Sprintf("optikpi_relay_sink_destination_check{destination=%q,result=%q}", "main", result)
		if got, ok := samples[key]; !ok || got != want {
			t.Errorf("%s = %v (present %t); want %v", key, got, ok, want)
		}
	}
	waitFor(t, "the refusal logged", func() (bool, string) {
		n := logs.FilterMessageSnippet("refused the credentials").FilterField(zap.String("destination", "main")).Len()
		return n > 0, fmt.Sprint(n, " lines")
	})
	for _, e := range logs.All() {
		if strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), wrong) {
			t.Errorf("a log line shows the token: %s %v", e.Message, e.ContextMap())
		}
	}
	st := h.emus.ByName["main"].Stats()
	for path, es := range st.Endpoints {
		if path != optikpi.KindAccount.Endpoint() && es.Requests > 0 || es.RecordsAccepted > 0 {
			t.Errorf("%s: %+v; want no request but the probe", path, es)
		}
	}
	if got := st.Endpoints[optikpi.KindAccount.Endpoint()].Unauthorized; got < 1 {
		t.Errorf("probes refused with 401: %d; want at least 1", got)
	}
	r.stop(t)
}

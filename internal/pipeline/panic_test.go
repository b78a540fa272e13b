package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// A relay bug that panics on one record dead-letters that record as
// internal_error, with the panic and where it happened, logs it at error
// level and counts it; the relay keeps running and delivers the rest.
func TestPanicDeadLettersTheRecord(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.produce(300, 21)
	ev := h.gen.Next()
	ev.Expect = gen.Expect{Reason: failure.Internal}
	h.produceEvents([]gen.Event{ev})
	h.produce(300, 0)

	core, logs := observer.New(zapcore.ErrorLevel)
	reg := prometheus.NewRegistry()
	p, err := pipeline.New(h.cfg, pipeline.Options{Tokens: h.emus.Tokens, Logger: zap.New(core), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	pipeline.SetMapHook(p, func(r *kgo.Record) {
		if bytes.Equal(r.Value, ev.Value) {
			panic("injected relay bug")
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(r.abort)

	h.waitCommitted()
	series := fmt.Sprintf(`optikpi_relay_records_total{model="",outcome="dead_lettered",reason=%q}`, failure.Internal)
	if got := gather(t, reg)[series]; got != 1 {
		t.Errorf("%s = %v; want 1", series, got)
	}
	r.stop(t) // the relay kept running: a graceful stop still works
	h.verify(true)

	var msg string
	for _, es := range h.deadLetters() {
		for _, e := range es {
			if e.Reason == failure.Internal {
				msg = e.Message
			}
		}
	}
	t.Logf("dead letter: %s", msg)
	for _, want := range []string{"internal_error: panic: injected relay bug; at ", "TestPanicDeadLettersTheRecord", "mapRecord"} {
		if !strings.Contains(msg, want) {
			t.Errorf("dead letter message %q; want it to contain %q", msg, want)
		}
	}
	if got := logs.FilterField(zap.String("panic", "injected relay bug")).Len(); got != 1 {
		t.Errorf("%d error log lines naming the panic; want 1 (all: %v)", got, logs.All())
	}
}

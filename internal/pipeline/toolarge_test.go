package pipeline_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// Records whose dead letters are as large as Kafka allows, or larger, reach
// the dead-letter topic and their partition commits past them: a value of
// 1,000,100 bytes that is not JSON (over franz-go's default batch limit,
// under Kafka's default max.message.bytes, so it is kept whole), and a
// 7 MiB deposit, over the API's request limit (too_large) and over the
// dead-letter topic's limit, so written without its value. kfake enforces
// each topic's max.message.bytes, as a broker does.
func TestTooLargeDeadLettersCommit(t *testing.T) {
	tests := []struct {
		name     string
		dlqLimit int // the dead-letter topic's max.message.bytes; 0: Kafka's default
	}{
		{"default limits", 0},
		// The relay reads the topic's limit and goes without the value at
		// once, rather than after the broker's refusals.
		{"topic limit below the configured one", 500_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testTooLargeDeadLetters(t, tt.dlqLimit) })
	}
}

func testTooLargeDeadLetters(t *testing.T, dlqLimit int) {
	h := newHarness(t, 1, nil)
	ctx := context.Background()
	const sourceLimit = "16777216"
	res, err := h.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: kadm.StringPtr(sourceLimit)}}, gen.TopicPayments)
	if err == nil {
		err = res[0].Err
	}
	if err != nil {
		t.Fatalf("raise %s max.message.bytes: %v", gen.TopicPayments, err)
	}
	if dlqLimit > 0 {
		res, err := h.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: kadm.StringPtr(strconv.Itoa(dlqLimit))}}, h.cfg.DLQ.Topic)
		if err == nil {
			err = res[0].Err
		}
		if err != nil {
			t.Fatalf("lower %s max.message.bytes: %v", h.cfg.DLQ.Topic, err)
		}
	}

	h.produce(300, 11)
	unparseable := []byte(strings.Repeat("x", 1_000_100))
	deposit, err := json.Marshal(map[string]any{
		"event_id": "pay-huge", "type": "deposit.failed", "status": "DEPOSIT_DECLINED", "player_id": "p-huge",
		"created_at": "2026-01-01T00:00:00Z", "txn_id": "txn-huge", "amount_minor": 1000, "currency": "EUR",
		"method": "CARD", "psp": map[string]string{"id": "psp-1", "name": "Adyen"},
		"failure": map[string]string{"code": "x", "message": strings.Repeat("y", 7<<20)},
	})
	if err != nil {
		t.Fatal(err)
	}
	big, err := kgo.NewClient(kgo.SeedBrokers(h.cfg.Kafka.Brokers...), kgo.ProducerBatchMaxBytes(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	recs := []*kgo.Record{
		{Topic: gen.TopicPayments, Key: []byte("p-junk"), Value: unparseable},
		{Topic: gen.TopicPayments, Key: []byte("p-huge"), Value: deposit},
	}
	if err := big.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce the large records: %v", err)
	}
	want := map[srcKey]failure.Reason{}
	h.mu.Lock()
	for i, reason := range []failure.Reason{failure.Unparseable, failure.TooLarge} {
		k := srcKey{recs[i].Topic, recs[i].Partition, recs[i].Offset}
		h.expect[k] = gen.Expect{Reason: reason}
		want[k] = reason
	}
	h.mu.Unlock()
	h.produce(300, 11) // after them on the same partitions

	core, logs := observer.New(zapcore.InfoLevel)
	reg := prometheus.NewRegistry()
	r := h.startWith(pipeline.Options{Logger: zap.New(core), Registerer: reg})
	h.waitCommitted()
	// Going without the value is the answer to a too-large refusal, not a
	// failing write: the critical alert on write errors must stay quiet.
	const writeErrors = "optikpi_relay_dlq_write_errors_total"
	if v, ok := gather(t, reg)[writeErrors]; !ok || v != 0 {
		t.Errorf("%s = %v (present %v); want 0", writeErrors, v, ok)
	}
	r.stop(t)
	h.verify(true)

	dead := h.deadLetters()
	for k, reason := range want {
		es := dead[k]
		if len(es) != 1 {
			t.Fatalf("%v: %d dead letters; want 1", k, len(es))
		}
		e := es[0]
		t.Logf("%v: reason %s, value %d bytes, value omitted %v (%d bytes)", k, e.Reason, len(e.Source.Value), e.ValueOmitted, e.ValueBytes)
		switch reason {
		case failure.Unparseable:
			if dlqLimit > 0 {
				if !e.ValueOmitted || e.ValueBytes != len(unparseable) {
					t.Errorf("%v: value %d bytes, omitted %v (%d bytes); want omitted, %d bytes", k, len(e.Source.Value), e.ValueOmitted, e.ValueBytes, len(unparseable))
				}
				break
			}
			if e.ValueOmitted || len(e.Source.Value) != len(unparseable) {
				t.Errorf("%v: value %d bytes, omitted %v; want the whole %d bytes", k, len(e.Source.Value), e.ValueOmitted, len(unparseable))
			}
		case failure.TooLarge:
			if !e.ValueOmitted || e.ValueBytes != len(deposit) || len(e.Source.Value) != 0 {
				t.Errorf("%v: value %d bytes, omitted %v (%d bytes); want omitted, %d bytes", k, len(e.Source.Value), e.ValueOmitted, e.ValueBytes, len(deposit))
			}
		}
	}
	if dlqLimit > 0 {
		got := logs.FilterMessage("dead letters limited to the topic's max.message.bytes").FilterField(zap.Int64("topic_max_message_bytes", int64(dlqLimit)))
		if got.Len() != 1 {
			t.Errorf("%d log lines saying the topic's limit %d applies; want 1", got.Len(), dlqLimit)
		}
	}
}

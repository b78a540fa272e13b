package dlq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const dlqTopic = "relay.dlq"

type env struct {
	t       *testing.T
	cluster *kfake.Cluster
	addrs   []string
	cl      *kgo.Client // the writer's client
	adm     *kadm.Client
}

func newEnv(t *testing.T, topics ...string) *env {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(2, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerLinger(0), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &env{t: t, cluster: c, addrs: c.ListenAddrs(), cl: cl, adm: kadm.NewClient(cl)}
}

func (e *env) writer(reg prometheus.Registerer) *Writer {
	e.t.Helper()
	w, err := NewWriter(e.cl, Options{Topic: dlqTopic, Version: "v1.2.3-test", Registerer: reg})
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// readAll reads n records from the dead-letter topic.
func (e *env) readAll(n int) []*kgo.Record {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.addrs...), kgo.ConsumeTopics(dlqTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("read %d of %d dead letters", len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func (e *env) endOffsets() int64 {
	e.t.Helper()
	ends, err := e.adm.ListEndOffsets(context.Background(), dlqTopic)
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// writeSync writes e and waits for done.
func writeSync(t *testing.T, w *Writer, e Entry) error {
	t.Helper()
	ch := make(chan error, 1)
	w.Write(context.Background(), e, func(err error) { ch <- err })
	select {
	case err := <-ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("done not called")
		return nil
	}
}

func source(topic string, p int32, off int64, key, value string, hs ...string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: p, Offset: off, Value: []byte(value), Timestamp: time.UnixMilli(1767225600123)}
	if key != "" {
		r.Key = []byte(key)
	}
	for i := 0; i+1 < len(hs); i += 2 {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: hs[i], Value: []byte(hs[i+1])})
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	failedAt := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		e    Entry
	}{
		{"every field", Entry{
			Source:      source("payments", 3, 1234567, "player-42", `{"amount":5}`, "trace-id", "abc", "content-type", "application/json"),
			Reason:      failure.Rejected,
			Message:     "optikpi: 400 Bad Request: amount must be > 0",
			Route:       "deposits",
			Output:      "ledger",
			Destination: "main",
			Endpoint:    "/events/deposit",
			Status:      400,
			APIError:    []byte(`{"error":"ValidationError","details":{"field":"amount"}}`),
			Attempts:    3,
			FailedAt:    failedAt,
		}},
		{"mapping failure, no key, no headers", Entry{
			Source:   source("players", 0, 0, "", "not json"),
			Reason:   failure.Unparseable,
			Message:  "invalid character 'o' in literal null",
			FailedAt: failedAt,
		}},
		{"empty value", Entry{
			Source:   source("players", 1, 7, "k", ""),
			Reason:   failure.Unrouted,
			Message:  "no route",
			FailedAt: failedAt,
		}},
		// Messages are written as given: the Entry has no token field,
		// and callers never put a token in an error.
		{"token-like text is not special-cased", Entry{
			Source:   source("bets", 0, 9, "k", "{}"),
			Reason:   failure.RetriesExhausted,
			Message:  "upstream said: x-optikpi-token: not-a-real-token",
			Attempts: 8,
			FailedAt: failedAt,
		}},
		{"dead letter of a dead letter", Entry{
			Source:   source("replayed", 0, 5, "k", "{}", HeaderReason, "invalid", HeaderError, "old", "x", "y"),
			Reason:   failure.Invalid,
			Message:  "still invalid",
			FailedAt: failedAt,
		}},
	}
	e := newEnv(t, dlqTopic)
	w := e.writer(nil)
	for _, tt := range tests {
		if err := writeSync(t, w, tt.e); err != nil {
			t.Fatalf("%s: done(%v)", tt.name, err)
		}
	}
	recs := e.readAll(len(tests))
	byOffset := make(map[int64]*kgo.Record)
	for _, r := range recs {
		e, err := Parse(r)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		byOffset[e.Source.Offset] = r
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := byOffset[tt.e.Source.Offset]
			if r == nil {
				t.Fatal("not read back")
			}
			if !bytes.Equal(r.Key, tt.e.Source.Key) || !bytes.Equal(r.Value, tt.e.Source.Value) {
				t.Errorf("dead letter key/value %q/%q, want the original %q/%q", r.Key, r.Value, tt.e.Source.Key, tt.e.Source.Value)
			}
			if !r.Timestamp.Equal(tt.e.FailedAt.Truncate(time.Millisecond)) {
				t.Errorf("dead letter timestamp %v, want FailedAt %v", r.Timestamp, tt.e.FailedAt)
			}
			got, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.e
			want.Version = "v1.2.3-test"
			if got.Source.Topic != want.Source.Topic || got.Source.Partition != want.Source.Partition || got.Source.Offset != want.Source.Offset ||
				!got.Source.Timestamp.Equal(want.Source.Timestamp) ||
				!bytes.Equal(got.Source.Key, want.Source.Key) || !bytes.Equal(got.Source.Value, want.Source.Value) ||
				fmt.Sprint(got.Source.Headers) != fmt.Sprint(want.Source.Headers) {
				t.Errorf("source\n got %s\nwant %s", describe(got.Source), describe(want.Source))
			}
			if (got.Source.Key == nil) != (want.Source.Key == nil) {
				t.Errorf("nil key not kept: got %v, want %v", got.Source.Key, want.Source.Key)
			}
			gotF, wantF := got, want
			gotF.Source, wantF.Source = nil, nil
			if !gotF.FailedAt.Equal(wantF.FailedAt) {
				t.Errorf("FailedAt %v, want %v", gotF.FailedAt, wantF.FailedAt)
			}
			gotF.FailedAt, wantF.FailedAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(gotF, wantF) {
				t.Errorf("entry\n got %+v\nwant %+v", gotF, wantF)
			}
		})
	}
}

func describe(r *kgo.Record) string {
	return fmt.Sprintf("%s[%d]@%d ts=%s key=%q value=%q headers=%v", r.Topic, r.Partition, r.Offset, r.Timestamp.UTC().Format(timeLayout), r.Key, r.Value, r.Headers)
}

func TestHeaders(t *testing.T) {
	src := source("payments", 2, 77, "k", "{}", "a", "1")
	r := record("dlq", "v9", Entry{Source: src, Reason: failure.TooLarge, Message: "big", Attempts: 1, Status: 413,
		FailedAt: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)})
	var got []string
	for _, h := range r.Headers {
		got = append(got, h.Key+"="+string(h.Value))
	}
	want := []string{
		"a=1",
		"optikpi-relay-reason=too_large",
		"optikpi-relay-error=big",
		"optikpi-relay-topic=payments",
		"optikpi-relay-partition=2",
		"optikpi-relay-offset=77",
		"optikpi-relay-timestamp=2026-01-01T00:00:00.123Z",
		"optikpi-relay-http-status=413",
		"optikpi-relay-attempts=1",
		"optikpi-relay-failed-at=2026-01-02T03:04:05.006Z",
		"optikpi-relay-version=v9",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("headers\n got %q\nwant %q", got, want)
	}
	if len(src.Headers) != 1 {
		t.Errorf("source headers changed: %v", src.Headers)
	}
}

func TestBounds(t *testing.T) {
	long := strings.Repeat("é", MaxMessageBytes) // 2 bytes each
	r := record("dlq", "", Entry{Source: source("t", 0, 0, "", ""), Message: long, APIError: bytes.Repeat([]byte("x"), MaxAPIErrorBytes+10)})
	e, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Message) != MaxMessageBytes || !strings.HasPrefix(long, e.Message) {
		t.Errorf("message cut to %d bytes, want %d on a rune boundary", len(e.Message), MaxMessageBytes)
	}
	if len(e.APIError) != MaxAPIErrorBytes {
		t.Errorf("api error cut to %d bytes, want %d", len(e.APIError), MaxAPIErrorBytes)
	}
	odd := truncate("aé", 2)
	if odd != "a" {
		t.Errorf("truncate(aé, 2) = %q, want %q", odd, "a")
	}
}

// TestEntryHasNoTokenField keeps credentials out of dead letters by
// construction: nothing in an Entry can hold one.
func TestEntryHasNoTokenField(t *testing.T) {
	typ := reflect.TypeFor[Entry]()
	for i := range typ.NumField() {
		name := strings.ToLower(typ.Field(i).Name)
		for _, bad := range []string{"token", "secret", "password", "auth", "signature"} {
			if strings.Contains(name, bad) {
				t.Errorf("Entry.%s looks like a credential field", typ.Field(i).Name)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		headers []kgo.RecordHeader
		want    error
	}{
		{"no headers", nil, ErrNotDeadLetter},
		{"original headers only", []kgo.RecordHeader{{Key: "a", Value: []byte("b")}}, ErrNotDeadLetter},
		{"bad partition", []kgo.RecordHeader{{Key: HeaderReason, Value: []byte("invalid")}, {Key: HeaderPartition, Value: []byte("x")}}, ErrMalformed},
		{"bad offset", []kgo.RecordHeader{{Key: HeaderReason, Value: []byte("invalid")}, {Key: HeaderOffset, Value: []byte("1.5")}}, ErrMalformed},
		{"bad failed-at", []kgo.RecordHeader{{Key: HeaderReason, Value: []byte("invalid")}, {Key: HeaderFailedAt, Value: []byte("yesterday")}}, ErrMalformed},
		{"minimal", []kgo.RecordHeader{{Key: HeaderReason, Value: []byte("invalid")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(&kgo.Record{Headers: tt.headers})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewWriterChecksClient(t *testing.T) {
	mk := func(opts ...kgo.Opt) *kgo.Client {
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers("127.0.0.1:1")}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	tests := []struct {
		name  string
		cl    *kgo.Client
		topic string
		ok    bool
	}{
		{"defaults", mk(), "dlq", true},
		{"explicit acks all", mk(kgo.RequiredAcks(kgo.AllISRAcks())), "dlq", true},
		{"nil client", nil, "dlq", false},
		{"leader acks", mk(kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()), "dlq", false},
		{"not idempotent", mk(kgo.DisableIdempotentWrite()), "dlq", false},
		{"transactional", mk(kgo.TransactionalID("x")), "dlq", false},
		{"no topic", mk(), "", false},
		{"bad topic", mk(), "dead letters", false},
		{"longest topic", mk(), strings.Repeat("d", 249), true},
		{"topic too long", mk(), strings.Repeat("d", 250), false},
		{"dot topic", mk(), "..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWriter(tt.cl, Options{Topic: tt.topic})
			if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidOptions)) {
				t.Errorf("NewWriter = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestDoneAfterAck holds the broker's produce response and checks that
// done waits for it.
func TestDoneAfterAck(t *testing.T) {
	e := newEnv(t, dlqTopic)
	release := make(chan struct{})
	var held atomic.Bool
	e.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		held.Store(true)
		e.cluster.SleepControl(func() { <-release })
		return nil, nil, false
	})
	reg := prometheus.NewRegistry()
	w := e.writer(reg)
	done := make(chan error, 1)
	w.Write(context.Background(), Entry{Source: source("t", 0, 1, "k", "v"), Reason: failure.Invalid}, func(err error) { done <- err })
	deadline := time.Now().Add(20 * time.Second)
	for !held.Load() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("done(%v) while the broker holds the produce", err)
	case <-time.After(200 * time.Millisecond):
	}
	if n := w.Pending(); n != 1 {
		t.Errorf("pending %d, want 1", n)
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("done(%v), want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("done not called after the ack")
	}
	if n := e.endOffsets(); n != 1 {
		t.Errorf("dead-letter topic holds %d records at done, want 1", n)
	}
	if v := counter(t, reg, "optikpi_relay_dlq_records_written_total", "invalid"); v != 1 {
		t.Errorf("records_written_total{reason=invalid} = %v, want 1", v)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// TestRetryUntilTopicExists: the dead-letter topic is missing at first;
// the write fails, is retried, and succeeds once the topic is created.
func TestRetryUntilTopicExists(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewRegistry()
	w := e.writer(reg)
	done := make(chan error, 1)
	w.Write(context.Background(), Entry{Source: source("t", 0, 1, "k", "v"), Reason: failure.Rejected}, func(err error) { done <- err })
	deadline := time.Now().Add(20 * time.Second)
	for counter(t, reg, "optikpi_relay_dlq_write_errors_total", "") < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no failed attempt")
		}
		select {
		case err := <-done:
			t.Fatalf("done(%v) before the topic exists", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, err := e.adm.CreateTopic(context.Background(), 1, 1, nil, dlqTopic); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("done(%v), want nil", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("write not retried into the new topic")
	}
	got, err := Parse(e.readAll(1)[0])
	if err != nil || got.Reason != failure.Rejected || got.Source.Offset != 1 {
		t.Errorf("Parse = %+v, %v; want the rejected entry", got, err)
	}
}

// TestClose: Close waits for pending writes; when its context ends first,
// the writes still pending are given up with ErrClosed.
func TestClose(t *testing.T) {
	t.Run("waits", func(t *testing.T) {
		e := newEnv(t, dlqTopic)
		release := make(chan struct{})
		e.cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
			e.cluster.SleepControl(func() { <-release })
			return nil, nil, false
		})
		w := e.writer(nil)
		var doneCalled atomic.Bool
		w.Write(context.Background(), Entry{Source: source("t", 0, 1, "k", "v"), Reason: failure.Invalid}, func(err error) {
			if err != nil {
				t.Errorf("done(%v)", err)
			}
			doneCalled.Store(true)
		})
		closed := make(chan error, 1)
		go func() { closed <- w.Close(context.Background()) }()
		select {
		case err := <-closed:
			t.Fatalf("Close returned %v with a write pending", err)
		case <-time.After(200 * time.Millisecond):
		}
		close(release)
		if err := <-closed; err != nil {
			t.Errorf("Close = %v", err)
		}
		if !doneCalled.Load() {
			t.Error("Close returned before done was called")
		}
		var after error
		w.Write(context.Background(), Entry{Source: source("t", 0, 2, "k", "v")}, func(err error) { after = err })
		if !errors.Is(after, ErrClosed) {
			t.Errorf("Write after Close: done(%v), want ErrClosed", after)
		}
	})
	t.Run("gives up at ctx", func(t *testing.T) {
		e := newEnv(t) // no topic: the write keeps failing
		w := e.writer(nil)
		done := make(chan error, 1)
		w.Write(context.Background(), Entry{Source: source("t", 0, 1, "k", "v")}, func(err error) { done <- err })
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v, want DeadlineExceeded", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("done(%v), want ErrClosed", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("done not called after Close gave up")
		}
	})
}

func TestWriteRefusals(t *testing.T) {
	e := newEnv(t, dlqTopic)
	w := e.writer(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		e    Entry
		want error
	}{
		{"no source", context.Background(), Entry{Reason: failure.Invalid}, ErrInvalidEntry},
		{"context done", ctx, Entry{Source: source("t", 0, 1, "k", "v")}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := make(chan error, 1)
			w.Write(tt.ctx, tt.e, func(err error) { ch <- err })
			if err := <-ch; !errors.Is(err, tt.want) {
				t.Errorf("done(%v), want %v", err, tt.want)
			}
		})
	}
	if n := e.endOffsets(); n != 0 {
		t.Errorf("%d records written, want 0", n)
	}
}

// counter reads a counter from reg; label is the value of its only label,
// empty for none.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if ls := m.GetLabel(); label == "" || (len(ls) == 1 && ls[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

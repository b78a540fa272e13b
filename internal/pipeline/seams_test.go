package pipeline

import (
	"bytes"
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/consume"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/sink"
)

// closes records the order in which the parts are closed.
type closes struct {
	mu    sync.Mutex
	order []string
}

func (c *closes) add(part string) {
	c.mu.Lock()
	c.order = append(c.order, part)
	c.mu.Unlock()
}

// finalSink holds what it is sent and, at Close, fails all of it for good,
// as a sink whose last attempts are refused: those must still become dead
// letters before anything is committed.
type finalSink struct {
	closes *closes
	mu     sync.Mutex
	held   []sink.Owner
}

func (s *finalSink) SendTo(_ context.Context, _ string, _ optikpi.Encoded, o sink.Owner) error {
	s.mu.Lock()
	s.held = append(s.held, o)
	s.mu.Unlock()
	return nil
}

func (s *finalSink) Close(context.Context) error {
	s.closes.add("sink")
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	for _, o := range held {
		o.Final(&sink.Failure{Reason: failure.Rejected, Destination: "main", Status: 400, Message: "refused as the sink closed"}, time.Now())
	}
	return nil
}

func (s *finalSink) Ready() error { return nil }

// ackAtClose is a dead-letter writer whose broker acknowledges the writes
// only as it is closed, and refuses writes after that, as dlq.Writer does.
type ackAtClose struct {
	closes  *closes
	mu      sync.Mutex
	closed  bool
	pending []func(error)
	written []dlq.Entry
	refused int
}

func (d *ackAtClose) Write(_ context.Context, e dlq.Entry, done func(error)) {
	d.mu.Lock()
	if d.closed {
		d.refused++
		d.mu.Unlock()
		done(dlq.ErrClosed)
		return
	}
	d.written = append(d.written, e)
	d.pending = append(d.pending, done)
	d.mu.Unlock()
}

func (d *ackAtClose) Close(context.Context) error {
	d.closes.add("dlq")
	d.mu.Lock()
	d.closed = true
	pending := d.pending
	d.pending = nil
	d.mu.Unlock()
	for _, done := range pending {
		done(nil)
	}
	return nil
}

// committer is a source whose Close notes how many records were done by
// then: what its final commit would cover.
type committer struct {
	closes       *closes
	done         func() int64
	doneAtCommit int64
}

func (c *committer) Run(context.Context, func(context.Context, *consume.Record)) error { return nil }
func (c *committer) Close(context.Context) error {
	c.closes.add("consumer")
	c.doneAtCommit = c.done()
	return nil
}
func (c *committer) Abort()       { c.closes.add("abort") }
func (c *committer) Ready() error { return nil }
func (c *committer) Live() error  { return nil }

// TestShutdownOrder: Shutdown closes the sink, then the dead-letter
// writer, then the consumer. A record the sink fails as it closes is then
// dead-lettered, and done before the consumer's final commit; closed in
// another order, the dead letter is refused or the commit misses it.
func TestShutdownOrder(t *testing.T) {
	cfg, err := config.Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPipeline(cfg, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	cl := &closes{}
	snk := &finalSink{closes: cl}
	dl := &ackAtClose{closes: cl}
	src := &committer{closes: cl, done: func() int64 { return p.counts.deadLettered(failure.Rejected).Load() }}
	p.sink, p.dlq, p.consumer = snk, dl, src

	data, err := os.ReadFile("../../testdata/events/players.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	p.handle(context.Background(), &consume.Record{Record: &kgo.Record{Topic: "players", Value: line}})
	if len(snk.held) != 1 {
		t.Fatalf("sink holds %d records after handle; want 1 (mapping or sending failed)", len(snk.held))
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}

	if want := []string{"sink", "dlq", "consumer"}; !slices.Equal(cl.order, want) {
		t.Errorf("closed %v; want %v", cl.order, want)
	}
	if len(dl.written) != 1 || dl.refused != 0 {
		t.Errorf("dead letters written %d, refused %d; want 1, 0", len(dl.written), dl.refused)
	} else if got := dl.written[0]; got.Reason != failure.Rejected || got.Source == nil || !bytes.Equal(got.Source.Value, line) {
		t.Errorf("dead letter: reason %s, source %v; want rejected with the record", got.Reason, got.Source)
	}
	if src.doneAtCommit != 1 {
		t.Errorf("records done at the consumer's final commit = %d; want 1", src.doneAtCommit)
	}
}

package pipeline

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/consume"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/sink"
)

// The seams where the pipeline meets its parts. New builds the real ones
// (the sink, the dead-letter writer, the consumer); tests put fakes in
// their place through newPipeline. What each method promises is what
// handle, deadLetter and Shutdown rely on; in particular Shutdown closes
// them in the order sink, dead letters, source, because each one's Close
// only returns once it can start nothing more in the next.

// sender is what the pipeline delivers through: the sink.
type sender interface {
	// SendTo queues rec for the destination dest. It blocks while that
	// destination's queue is full, and returns an error, never calling
	// o.Final, when ctx ends, the sender is closed or dest is unknown.
	// Otherwise o.Final is called exactly once, from another goroutine,
	// when rec is final: with nil once Optikpi acknowledged it, else with
	// the *sink.Failure that makes it a dead letter; or never, when rec is
	// given up: at Close past its context, or when o.Owned reports false
	// before an attempt. A user's state records are delivered in the
	// order of the calls that queued them.
	SendTo(ctx context.Context, dest string, rec optikpi.Encoded, o sink.Owner) error
	// Close stops accepting records and blocks until every record
	// accepted is final, its Final called and returned, or ctx ends;
	// then it gives up on the rest, whose Final is never called. When it
	// returns no Final runs or will run: the dead letters they started
	// are all with the deadLetterer.
	Close(ctx context.Context) error
	// Ready returns nil when every destination takes records, else why
	// not; the reason never carries a token.
	Ready() error
}

// deadLetterer is what the pipeline dead-letters into: the dead-letter
// writer.
type deadLetterer interface {
	// Write starts writing e and returns without waiting for the broker.
	// done is called exactly once, perhaps before Write returns: with nil
	// once the broker holds the dead letter, else with an error: at once
	// when the deadLetterer is closed, or when ctx ends or Close gives up
	// before the broker acknowledged it.
	Write(ctx context.Context, e dlq.Entry, done func(error))
	// Close refuses later writes and blocks until every write started
	// before it is acknowledged, or ctx ends and it gives up on the rest;
	// either way each of their done has been called when it returns.
	Close(ctx context.Context) error
}

// source is where records come from and what their end is reported to:
// the consumer. A record's Done, Abandon and Owned are its part of it.
type source interface {
	// Run blocks until ctx ends or Close is called, calling handle for
	// every record from one goroutine per partition, in the partition's
	// order; handle runs for several partitions at once. When Run returns
	// no handle runs or will.
	Run(ctx context.Context, handle func(context.Context, *consume.Record)) error
	// Close stops fetching and blocks until Run returned and every record
	// handed out is Done or abandoned, or ctx ends; then it commits what
	// is done and leaves the group. A record done after it returns is
	// never committed.
	Close(ctx context.Context) error
	// Abort stops at once, as a crash would: nothing more is committed.
	Abort()
	// Ready returns nil while the member is in its group, else why not.
	Ready() error
	// Live returns nil unless fetching stopped on its own.
	Live() error
}

// dlqWriter is the dead-letter writer with the producer it writes with,
// closed with it: once Close returns no write is left to need it.
type dlqWriter struct {
	*dlq.Writer
	client *kgo.Client
}

func (w dlqWriter) Close(ctx context.Context) error {
	err := w.Writer.Close(ctx)
	w.client.Close()
	return err
}

// Compile-time proof that the real parts fill the seams.
var (
	_ sender       = (*sink.Sink)(nil)
	_ deadLetterer = dlqWriter{}
	_ source       = (*consume.Consumer)(nil)
)

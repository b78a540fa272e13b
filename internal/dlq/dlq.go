// Package dlq writes records that cannot be delivered to a dead-letter topic, with the reason in headers, and reads them back.
//
// A dead letter keeps the original record whole: its key (so a replay
// lands on the same partition), its value and its headers, followed by
// headers named "optikpi-relay-…" that say where it came from and why it
// failed. Only a dead letter the topic cannot take with its value goes
// without it, with headers saying so and its size. An Entry has no field
// for credentials, so no API token is ever written: error messages are
// written as given, and the code producing them (the Optikpi client)
// never puts a token in one.
package dlq

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

// Entry is one dead letter: the original record and why it failed.
type Entry struct {
	// Source is the original record. Its key, value, headers, topic,
	// partition, offset and timestamp are all kept; Write requires it.
	Source *kgo.Record
	// Reason is why the record failed.
	Reason failure.Reason
	// Message is the error message, at most MaxMessageBytes.
	Message string
	// Route, Destination and Endpoint say where the record was headed,
	// as far as it got; empty when unknown.
	Route, Destination, Endpoint string
	// Output names the output of a fan-out route that failed: the one
	// Optikpi record of the source record this letter is about. Empty for
	// a route without outputs, or a record that failed before routing.
	Output string
	// Status is the HTTP status of Optikpi's answer; 0 if none.
	Status int
	// APIError is Optikpi's error body as received, at most
	// MaxAPIErrorBytes.
	APIError []byte
	// Attempts is how many delivery attempts were made.
	Attempts int
	// FailedAt is when the record was given up; zero means now. It is
	// also the dead letter's Kafka timestamp, so the topic's retention
	// counts from the failure, not from the original record.
	FailedAt time.Time
	// EventID is the event_id of the mapped record; empty when the record
	// failed before it had one.
	EventID string
	// Replays counts how many times the record has been replayed from the
	// dead-letter topic and failed again; 0 for a first failure.
	Replays int
	// ReplayRun names the replay run that wrote this entry back; empty
	// when the relay itself wrote it.
	ReplayRun string
	// Version is the relay version that wrote the entry, as set by
	// Parse; Write ignores it and writes Options.Version.
	Version string
	// ValueOmitted says the dead letter does not carry the original
	// value: with it the record was larger than the dead-letter topic
	// takes. The original stays at its topic, partition and offset while
	// that topic retains it. Write sets it when the broker or the client
	// refuses the whole record as too large.
	ValueOmitted bool
	// ValueBytes is the original value's size when ValueOmitted.
	ValueBytes int
	// KeyHeadersOmitted says the dead letter does not carry the original
	// key and headers either: without its value it was still too large.
	// Source then has the original's coordinates only.
	KeyHeadersOmitted bool
}

// Key returns the coordinates of the entry's original record, which every
// duplicate of the same dead letter shares.
func (e *Entry) Key() SourceKey {
	return SourceKey{Topic: e.Source.Topic, Partition: e.Source.Partition, Offset: e.Source.Offset}
}

// Bounds on what an entry carries in headers; longer values are cut.
const (
	MaxMessageBytes  = 8 << 10
	MaxAPIErrorBytes = 8 << 10
)

// Header names, after the original record's headers.
const (
	HeaderPrefix      = "optikpi-relay-"
	HeaderReason      = HeaderPrefix + "reason" // always the first of the relay's headers
	HeaderError       = HeaderPrefix + "error"
	HeaderTopic       = HeaderPrefix + "topic"
	HeaderPartition   = HeaderPrefix + "partition"
	HeaderOffset      = HeaderPrefix + "offset"
	HeaderTimestamp   = HeaderPrefix + "timestamp" // RFC 3339, milliseconds, UTC
	HeaderRoute       = HeaderPrefix + "route"
	HeaderOutput      = HeaderPrefix + "output" // absent unless the route fans out
	HeaderDestination = HeaderPrefix + "destination"
	HeaderEndpoint    = HeaderPrefix + "endpoint"
	HeaderHTTPStatus  = HeaderPrefix + "http-status"
	HeaderAPIError    = HeaderPrefix + "api-error"
	HeaderAttempts    = HeaderPrefix + "attempts"
	HeaderFailedAt    = HeaderPrefix + "failed-at" // RFC 3339, milliseconds, UTC
	HeaderVersion     = HeaderPrefix + "version"
	HeaderEventID     = HeaderPrefix + "event-id"
	HeaderReplays     = HeaderPrefix + "replays"    // absent for a first failure
	HeaderReplayRun   = HeaderPrefix + "replay-run" // absent unless written by a replay
	// HeaderValueOmitted says why the original value is not in the dead
	// letter (ValueOmittedTooLarge); absent when it is.
	HeaderValueOmitted = HeaderPrefix + "value-omitted"
	HeaderValueBytes   = HeaderPrefix + "value-bytes" // the omitted value's size
	// HeaderKeyHeadersOmitted says the original key and headers are not in
	// the dead letter either (ValueOmittedTooLarge); absent when they are.
	HeaderKeyHeadersOmitted = HeaderPrefix + "key-headers-omitted"
)

// ValueOmittedTooLarge is the value of HeaderValueOmitted and
// HeaderKeyHeadersOmitted for a dead letter that did not fit in the
// dead-letter topic with what they name.
const ValueOmittedTooLarge = "too large"

// Errors; test with errors.Is.
var (
	// ErrInvalidOptions wraps every problem NewWriter finds.
	ErrInvalidOptions = errors.New("dlq: invalid options")
	// ErrInvalidEntry is given to done for an Entry without Source.
	ErrInvalidEntry = errors.New("dlq: invalid entry")
	// ErrClosed is given to done for writes the writer gave up at Close.
	ErrClosed = errors.New("dlq: writer closed")
	// ErrNotDeadLetter is returned by Parse for a record without the
	// relay's headers.
	ErrNotDeadLetter = errors.New("dlq: not a dead letter")
	// ErrMalformed is returned by Parse for a relay header it cannot read.
	ErrMalformed = errors.New("dlq: malformed dead letter")
)

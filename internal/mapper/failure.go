package mapper

import (
	"errors"
	"strings"
)

// Reason says why a record could not be mapped. It is what the dead-letter
// topic records.
type Reason string

// The reasons of Failure.
const (
	// ReasonUnparseable: the value is not a JSON object.
	ReasonUnparseable Reason = "unparseable"
	// ReasonUnrouted: no route matches the record (and the configuration
	// does not skip unmatched records).
	ReasonUnrouted Reason = "unrouted"
	// ReasonInvalid: a route matched, but a field could not be filled or
	// the Optikpi record fails the model's validation.
	ReasonInvalid Reason = "invalid"
)

// Sentinels matched by a *Failure of the same reason with errors.Is.
var (
	ErrUnparseable = errors.New("mapper: unparseable record")
	ErrUnrouted    = errors.New("mapper: unrouted record")
	ErrInvalid     = errors.New("mapper: invalid record")
)

// Failure is why one record could not be mapped.
type Failure struct {
	Reason  Reason
	Route   string // the route that matched, "" for unparseable and unrouted
	Field   string // the Optikpi field at fault, "" when none
	Message string // what is wrong, for a person
}

// Error returns "invalid: route deposits: amount: must be a number".
func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(string(f.Reason))
	if f.Route != "" {
		b.WriteString(": route ")
		b.WriteString(f.Route)
	}
	if f.Field != "" {
		b.WriteString(": ")
		b.WriteString(f.Field)
	}
	if f.Message != "" {
		b.WriteString(": ")
		b.WriteString(f.Message)
	}
	return b.String()
}

// Is matches the sentinel of f's reason.
func (f *Failure) Is(target error) bool {
	switch f.Reason {
	case ReasonUnparseable:
		return target == ErrUnparseable
	case ReasonUnrouted:
		return target == ErrUnrouted
	case ReasonInvalid:
		return target == ErrInvalid
	}
	return false
}

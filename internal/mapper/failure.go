package mapper

import (
	"errors"
	"strings"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

// Sentinels matched by a *Failure of the same reason with errors.Is.
var (
	ErrUnparseable = errors.New("mapper: unparseable record")
	ErrUnrouted    = errors.New("mapper: unrouted record")
	ErrInvalid     = errors.New("mapper: invalid record")
)

// Failure is why one record could not be mapped.
type Failure struct {
	Reason  failure.Reason // Unparseable, Unrouted or Invalid
	Route   string         // the route that matched, "" for unparseable and unrouted
	Output  string         // the output of a fan-out route at fault, "" for a route without outputs
	Field   string         // the Optikpi field at fault, "" when none
	Message string         // what is wrong, for a person
}

// Error returns "invalid: route deposits: amount: must be a number", or
// "invalid: route signup output profile: …" for an output of a fan-out route.
func (f *Failure) Error() string {
	var b strings.Builder
	b.WriteString(string(f.Reason))
	if f.Route != "" {
		b.WriteString(": route ")
		b.WriteString(f.Route)
	}
	if f.Output != "" {
		b.WriteString(" output ")
		b.WriteString(f.Output)
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
	case failure.Unparseable:
		return target == ErrUnparseable
	case failure.Unrouted:
		return target == ErrUnrouted
	case failure.Invalid:
		return target == ErrInvalid
	}
	return false
}

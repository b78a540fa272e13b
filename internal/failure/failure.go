// Package failure names why a record was not delivered: the one vocabulary
// of the mapper, the sink, the dead-letter topic, the metrics and the
// dead-letter tools.
package failure

import (
	"fmt"
	"strings"
)

// Reason says why a record was dead-lettered. It is what the dead-letter
// topic's reason header holds and what the metrics' reason label says.
type Reason string

// The reasons, in the order a record meets them on its way.
const (
	// Unparseable: the value is missing, empty or not a JSON object, or
	// gives a key twice in one object and routing.duplicate_keys is refuse.
	Unparseable Reason = "unparseable"
	// Unrouted: no route matches the record, and unmatched records are
	// dead-lettered.
	Unrouted Reason = "unrouted"
	// Invalid: a route matched, but a field could not be filled or the
	// Optikpi record fails the model's validation.
	Invalid Reason = "invalid"
	// Rejected: Optikpi refused the record, alone, with a 4xx.
	Rejected Reason = "rejected"
	// TooLarge: the record is too large for one request, even alone.
	TooLarge Reason = "too_large"
	// RetriesExhausted: delivery kept failing for the configured attempts.
	RetriesExhausted Reason = "retries_exhausted"
	// Internal: the relay failed on the record (a panic while mapping it):
	// a bug in the relay, never the data's fault. The error names the
	// panic; replay once the relay is fixed.
	Internal Reason = "internal_error"
)

// Reasons returns every Reason in their order; the caller may keep it.
func Reasons() []Reason {
	return []Reason{Unparseable, Unrouted, Invalid, Rejected, TooLarge, RetriesExhausted, Internal}
}

// Known reports whether r is one of Reasons.
func (r Reason) Known() bool {
	switch r {
	case Unparseable, Unrouted, Invalid, Rejected, TooLarge, RetriesExhausted, Internal:
		return true
	}
	return false
}

// Parse returns the Reason named s, or an error listing the known ones.
func Parse(s string) (Reason, error) {
	if r := Reason(s); r.Known() {
		return r, nil
	}
	return "", fmt.Errorf("unknown reason %q (one of %s)", s, List())
}

// List is every reason, comma separated, for messages and usage.
func List() string {
	reasons := Reasons()
	names := make([]string, 0, len(reasons))
	for _, r := range reasons {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

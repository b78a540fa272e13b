package dlq

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

// Filter selects dead letters. A zero field selects everything; a letter
// must match every non-zero field, and any one value of a list.
type Filter struct {
	Reasons []failure.Reason
	Topics  []string // the original topic
	// Routes match the route, or as "ROUTE/OUTPUT" one output of a
	// fan-out route.
	Routes    []string
	Endpoints []string // such as "/events/deposit"
	Statuses  []int    // HTTP status; 0 selects letters without one
	// Since and Until bound the failure time: Since <= FailedAt < Until.
	Since, Until time.Time
	// ErrorMatch is matched against the error message and the API's error
	// body.
	ErrorMatch *regexp.Regexp
	// EventIDs match the event id the letter records or, for a record
	// that failed before it had one, the id derived from its coordinates
	// by DeriveEventID.
	EventIDs []string
	Sources  []SourceKey
	// DeriveEventID gives a record's derived event id from its original
	// coordinates (the mapper's); nil matches EventIDs only against the
	// recorded ids.
	DeriveEventID func(topic string, partition int32, offset int64) string
}

// Match reports whether l is selected. A letter that could not be read
// (l.Err set) matches only a filter that selects everything.
func (f *Filter) Match(l *Letter) bool {
	if l.Err != nil {
		return f.empty()
	}
	e := &l.Entry
	switch {
	case len(f.Reasons) > 0 && !slices.Contains(f.Reasons, e.Reason),
		len(f.Topics) > 0 && !slices.Contains(f.Topics, e.Source.Topic),
		len(f.Routes) > 0 && !slices.ContainsFunc(f.Routes, e.routeIs),
		len(f.Endpoints) > 0 && !slices.Contains(f.Endpoints, e.Endpoint),
		len(f.Statuses) > 0 && !slices.Contains(f.Statuses, e.Status),
		!f.Since.IsZero() && e.FailedAt.Before(f.Since),
		!f.Until.IsZero() && !e.FailedAt.Before(f.Until),
		len(f.Sources) > 0 && !slices.Contains(f.Sources, e.Key()):
		return false
	}
	if f.ErrorMatch != nil && !f.ErrorMatch.MatchString(e.Message) && !f.ErrorMatch.Match(e.APIError) {
		return false
	}
	if len(f.EventIDs) > 0 && !f.matchEventID(e) {
		return false
	}
	return true
}

func (f *Filter) matchEventID(e *Entry) bool {
	if e.EventID != "" && slices.Contains(f.EventIDs, e.EventID) {
		return true
	}
	if f.DeriveEventID == nil {
		return false
	}
	return slices.Contains(f.EventIDs, f.DeriveEventID(e.Source.Topic, e.Source.Partition, e.Source.Offset))
}

func (f *Filter) empty() bool {
	return len(f.Reasons) == 0 && len(f.Topics) == 0 && len(f.Routes) == 0 &&
		len(f.Endpoints) == 0 && len(f.Statuses) == 0 && f.Since.IsZero() &&
		f.Until.IsZero() && f.ErrorMatch == nil && len(f.EventIDs) == 0 && len(f.Sources) == 0
}

// routeIs reports whether the letter's route is name, or its route and
// output are name's "ROUTE/OUTPUT".
func (e *Entry) routeIs(name string) bool {
	if name == e.Route {
		return true
	}
	route, output, ok := strings.Cut(name, "/")
	return ok && e.Output != "" && route == e.Route && output == e.Output
}

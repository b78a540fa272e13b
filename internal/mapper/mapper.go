// Package mapper turns a Kafka record into an Optikpi record by the routes
// of the configuration, or into a typed failure.
package mapper

import (
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// Result is a mapped record: one Optikpi record, or for a route with
// outputs (a fan-out) one per output emitted.
type Result struct {
	// Route is the name of the route that matched, "" for an unmatched
	// record skipped by routing.unmatched: skip.
	Route string
	// Skipped is true when the record is to be counted and dropped: a skip
	// route matched, none did and unmatched records are skipped, or a
	// fan-out route emitted no output. There is then no output.
	Skipped bool
	// Output is the first output, embedded so that a route without outputs
	// reads as Destination and Record; More holds the outputs after it of
	// a fan-out route, nil otherwise, so that one output costs nothing more.
	Output
	More []Output
}

// Output is one Optikpi record of a Result.
type Output struct {
	// Name is the output's name; "" for a route without outputs.
	Name string
	// Destination names the configured destination to deliver to.
	Destination string
	// Record is the validated, encoded Optikpi record; empty when Failure
	// is set.
	Record optikpi.Encoded
	// Failure is why this output of a fan-out route could not be mapped;
	// the other outputs are not affected. A route without outputs fails
	// through Map's error instead.
	Failure *Failure
}

// Len returns how many outputs r holds: 0 when skipped.
func (r *Result) Len() int {
	if r.Skipped {
		return 0
	}
	return 1 + len(r.More)
}

// At returns output i of r, 0 <= i < r.Len().
func (r *Result) At(i int) *Output {
	if i == 0 {
		return &r.Output
	}
	return &r.More[i-1]
}

// Find returns the output of r named name, or nil: a dead letter names the
// output of a fan-out that failed, so that a replay sends that one again
// and no other. "" finds the one output of a route without outputs.
func (r *Result) Find(name string) *Output {
	for i := range r.Len() {
		if o := r.At(i); o.Name == name {
			return o
		}
	}
	return nil
}

// Mapper maps records by compiled routes. It is immutable, so safe for
// concurrent use.
type Mapper struct {
	byTopic       map[string]*topicRoutes
	skipUnmatched bool
	skipTombstone bool      // routing.tombstones: skip
	skipEmpty     bool      // routing.empty: skip
	refuseDupKeys bool      // routing.duplicate_keys: refuse
	scratch       sync.Pool // of *scratch
}

// scratch is what mapping one record reuses from the last.
type scratch struct {
	doc     doc
	builder optikpi.Builder
}

// topicRoutes are the routes of one topic, in order, and what they read.
type topicRoutes struct {
	routes []*route
	plan   *plan
}

// New compiles every route of cfg, as config.Parse returned it, once. It
// checks what Parse leaves to it, whatever needs the API's models: each
// route's model, its fields against the model's, and every field rule. The
// error lists every problem, each as "source:line: key: what is wrong"
// joined with errors.Join, as Parse's; each matches config.ErrInvalid.
func New(cfg *config.Config) (*Mapper, error) {
	m := &Mapper{
		byTopic:       map[string]*topicRoutes{},
		skipUnmatched: cfg.Routing.Unmatched == config.UnmatchedSkip,
		skipTombstone: cfg.Routing.Tombstones == config.UnmatchedSkip,
		skipEmpty:     cfg.Routing.Empty == config.UnmatchedSkip,
		refuseDupKeys: cfg.Routing.DuplicateKeys == config.DuplicateKeysRefuse,
	}
	dests := make(map[string]*config.Destination, len(cfg.Destinations))
	for i := range cfg.Destinations {
		dests[cfg.Destinations[i].Name] = &cfg.Destinations[i]
	}
	ps := cfg.Problems()
	checkRateLimits(cfg, ps)
	for i := range cfg.Routing.Routes {
		cr := &cfg.Routing.Routes[i]
		t := m.byTopic[cr.Topic]
		if t == nil {
			t = &topicRoutes{plan: newPlan()}
			m.byTopic[cr.Topic] = t
		}
		r := compileRoute(cr, "routing.routes["+strconv.Itoa(i)+"]", dests, cfg.Sink.Strict, t.plan, ps)
		t.routes = append(t.routes, r)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// Map maps one Kafka record. The error is always a *Failure; the outputs of
// a fan-out route fail one by one, in Output.Failure. Map reads only
// r's topic, partition, offset, key, headers, timestamp and value, and keeps
// none of them.
func (m *Mapper) Map(r *kgo.Record) (Result, error) {
	t := m.byTopic[r.Topic]
	var pl *plan
	if t != nil {
		pl = t.plan
	}
	s, _ := m.scratch.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	defer func() {
		// So that the pool keeps no record alive: both view its value.
		s.doc.reset(nil, nil)
		s.builder.Reset(0)
		m.scratch.Put(s)
	}()
	d := &s.doc
	if !d.load(r, pl) {
		var res Result
		var f *Failure
		if r, res, f = m.check(r); r == nil {
			if f != nil {
				return res, f
			}
			return res, nil
		}
		d.reset(r, pl)
	}
	if t != nil {
		for _, rt := range t.routes {
			match, f := rt.matches(d)
			if f != nil {
				return Result{}, f
			}
			if !match {
				continue
			}
			if rt.skip {
				return Result{Route: rt.name, Skipped: true}, nil
			}
			if rt.fanout {
				return rt.mapOutputs(d, &s.builder), nil
			}
			o := rt.outs[0]
			enc, f := o.mapRecord(d, &s.builder)
			if f != nil {
				return Result{}, f
			}
			return Result{Route: rt.name, Output: Output{Destination: o.dest, Record: enc}}, nil
		}
	}
	if m.skipUnmatched {
		return Result{Skipped: true}, nil
	}
	msg := "no route matches"
	if t == nil {
		msg = "no route reads topic " + strconv.Quote(r.Topic)
	}
	return Result{}, &Failure{Reason: failure.Unrouted, Message: msg}
}

// check is the slow path, for a value load refused: it says what keeps the
// value from being read, or reads it key by key. It returns the record to
// read (r, or a copy with each key's last value when a key is given twice),
// or nil and the Result of a value that is skipped or the Failure of one
// that cannot be read.
func (m *Mapper) check(r *kgo.Record) (*kgo.Record, Result, *Failure) {
	v := r.Value
	msg, scan := checkValue(v)
	if msg != "" {
		switch msg {
		case msgTombstone:
			if m.skipTombstone {
				return nil, Result{Skipped: true}, nil
			}
		case msgEmpty:
			if m.skipEmpty {
				return nil, Result{Skipped: true}, nil
			}
		}
		return nil, Result{}, &Failure{Reason: failure.Unparseable, Message: msg}
	}
	if scan.escapedKey && !scan.hasDup {
		scan.dup, scan.hasDup = dupUnescaped(gjson.ParseBytes(v))
	}
	if !scan.hasDup {
		return r, Result{}, nil
	}
	if m.refuseDupKeys {
		return nil, Result{}, &Failure{Reason: failure.Unparseable,
			Message: "key " + strconv.Quote(scan.dup) + " is given twice in one object (routing.duplicate_keys is refuse)"}
	}
	// The rest reads the value with gjson, which takes a key's first
	// value: read a copy with each key's last.
	last := *r
	last.Value = lastWins(make([]byte, 0, len(v)), gjson.ParseBytes(v))
	return &last, Result{}, nil
}

// What checkValue says of a record without a value, and of one whose
// value is empty or white space: routing.tombstones and routing.empty may
// skip them.
const (
	msgTombstone = "no value (a tombstone)"
	msgEmpty     = "empty value"
)

// checkValue returns what keeps v from being one JSON object, or "", and
// what scanValue found in v.
func checkValue(v []byte) (string, scanned) {
	i := skipSpace(v)
	if i == len(v) {
		if v == nil {
			return msgTombstone, scanned{}
		}
		return msgEmpty, scanned{}
	}
	s := scanValue(v[i:])
	switch {
	case s.tooDeep:
		return "nested deeper than " + strconv.Itoa(MaxDepth) + " arrays and objects", s
	case !gjson.ValidBytes(v):
		return "not valid JSON", s
	case v[i] != '{':
		return "not a JSON object", s
	case !utf8.Valid(v):
		// gjson passes invalid UTF-8 through; the API would see U+FFFD.
		return "not valid UTF-8", s
	}
	return "", s
}

// MaxDepth is how deeply arrays and objects may nest in a value. gjson
// validates and reads recursively, so without a bound a value of megabytes of
// '[' grows a goroutine stack of hundreds of MiB. No event nests near it.
const MaxDepth = 512

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of v's first byte that is not JSON white
// space, len(v) when there is none.
func skipSpace(v []byte) int {
	i := 0
	for i < len(v) && isSpace(v[i]) {
		i++
	}
	return i
}

// DerivedEventID is the event_id of a record whose event has none: the
// same Kafka record always gets the same id, so a replay after a crash is
// recognisable downstream.
func DerivedEventID(topic string, partition int32, offset int64) string {
	return string(appendDerivedEventID(make([]byte, 0, len(topic)+32), topic, partition, offset))
}

func appendDerivedEventID(b []byte, topic string, partition int32, offset int64) []byte {
	b = append(b, "relay-"...)
	b = append(b, topic...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(partition), 10)
	b = append(b, '-')
	return strconv.AppendInt(b, offset, 10)
}

// HeaderReplayOf marks a record that `relay dlq replay --to source`
// republished: its value is "TOPIC/PARTITION/OFFSET", where the record was
// first. A record carrying it gets the event id derived from those
// coordinates, not from its new offset, so that a replayed record keeps the
// event_id of its first attempt and is recognisable downstream.
const HeaderReplayOf = "optikpi-relay-replay-of"

// ReplayOf returns the value of HeaderReplayOf for a record at the given
// coordinates.
func ReplayOf(topic string, partition int32, offset int64) string {
	return topic + "/" + strconv.FormatInt(int64(partition), 10) + "/" + strconv.FormatInt(offset, 10)
}

// derivedEventID appends the derived event id of r to b: from the
// coordinates in its first HeaderReplayOf header when it has a readable
// one, else from its own.
func derivedEventID(b []byte, r *kgo.Record) []byte {
	if h, ok := firstHeader(r, HeaderReplayOf); ok {
		// A topic name cannot contain '/', so the last two parts are
		// the partition and the offset.
		parts := strings.Split(string(h), "/")
		if len(parts) == 3 && parts[0] != "" {
			p, perr := strconv.ParseInt(parts[1], 10, 32)
			o, oerr := strconv.ParseInt(parts[2], 10, 64)
			if perr == nil && oerr == nil && p >= 0 && o >= 0 {
				return appendDerivedEventID(b, parts[0], int32(p), o)
			}
		}
	}
	return appendDerivedEventID(b, r.Topic, r.Partition, r.Offset)
}

package mapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// route is a compiled config.Route.
type route struct {
	name  string
	topic string
	when  *cond
	skip  bool

	kind        optikpi.Kind
	dest        string
	fixed       []fixedField // account_id, workspace_id, event_category
	fields      []*field
	deriveEvent bool // the model has event_id
	validate    optikpi.ValidateOptions
}

type fixedField struct {
	name  string
	value string
}

func compileRoute(cr *config.Route, dests map[string]*config.Destination, source string, pl *plan) (*route, error) {
	where := fmt.Sprintf("route %q", cr.Name)
	if cr.Line > 0 {
		where = fmt.Sprintf("%s:%d: %s", source, cr.Line, where)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("mapper: %s: %s", where, fmt.Sprintf(format, args...))
	}
	r := &route{name: cr.Name, topic: cr.Topic, skip: cr.Skip}
	if cr.When != nil {
		c, err := compileCond(cr.When, pl)
		if err != nil {
			return nil, fail("when: %v", err)
		}
		r.when = c
	}
	if r.skip {
		return r, nil
	}
	kind, err := optikpi.ParseKind(cr.Model)
	if err != nil {
		return nil, fail("%v", err)
	}
	r.kind = kind
	d, ok := dests[cr.Destination]
	if !ok {
		if len(dests) != 1 || cr.Destination != "" {
			return nil, fail("no destination named %q", cr.Destination)
		}
		for _, only := range dests {
			d = only
		}
	}
	r.dest = d.Name
	if _, ok := kind.Field("account_id"); ok {
		r.fixed = append(r.fixed, fixedField{"account_id", d.AccountID})
	}
	if _, ok := kind.Field("workspace_id"); ok {
		r.fixed = append(r.fixed, fixedField{"workspace_id", d.WorkspaceID})
	}
	if c := kind.EventCategory(); c != "" {
		r.fixed = append(r.fixed, fixedField{"event_category", c})
	}
	_, r.deriveEvent = kind.Field("event_id")
	for i := range cr.Fields {
		fr := &cr.Fields[i]
		if config.Automatic(kind, fr.Target) {
			return nil, fail("field %s: filled by the relay", fr.Target)
		}
		if _, known := kind.Field(fr.Target); !known && !fr.Extra {
			return nil, fail("field %s: model %s has no such field", fr.Target, kind)
		}
		f, err := compileField(fr, pl)
		if err != nil {
			return nil, fail("field %s: %v", fr.Target, err)
		}
		r.fields = append(r.fields, f)
	}
	return r, nil
}

// mapRecord builds, validates and encodes the Optikpi record of d.
func (r *route) mapRecord(d *doc) (optikpi.Encoded, *Failure) {
	rec := d.rec
	out := make(optikpi.Record, len(r.fixed)+len(r.fields)+1)
	for _, f := range r.fixed {
		out[f.name] = f.value
	}
	for _, f := range r.fields {
		v, ok, err := f.eval(d)
		if err != nil {
			return optikpi.Encoded{}, &Failure{Reason: failure.Invalid, Route: r.name, Field: f.target, Message: err.Error()}
		}
		if ok {
			out[f.target] = v
		}
	}
	if r.deriveEvent {
		if id, ok := out["event_id"]; !ok || id == "" {
			out["event_id"] = derivedEventID(rec)
		}
	}
	enc, err := optikpi.Encode(r.kind, out, r.validate)
	if err != nil {
		f := &Failure{Reason: failure.Invalid, Route: r.name, Message: err.Error()}
		if ve, ok := errors.AsType[*optikpi.ValidationError](err); ok {
			f.Field, f.Message = ve.Field, ve.Issue
		}
		return optikpi.Encoded{}, f
	}
	// The ids may alias the Kafka record's value (see doc).
	enc.UserID, enc.EventID = strings.Clone(enc.UserID), strings.Clone(enc.EventID)
	return enc, nil
}

// cond is a compiled config.Condition.
type cond struct {
	path  *jpath
	op    condOp
	vals  []any // for equals (one) and in
	match interface{ MatchString(string) bool }
	kids  []*cond
}

type condOp uint8

const (
	opEquals condOp = iota
	opExists
	opMissing
	opMatches
	opAll
	opAny
	opNot
)

func compileCond(c *config.Condition, pl *plan) (*cond, error) {
	var kids []config.Condition
	out := &cond{}
	if c.Path != "" {
		out.path = pl.path(c.Path)
	}
	switch {
	case len(c.All) > 0:
		out.op, kids = opAll, c.All
	case len(c.Any) > 0:
		out.op, kids = opAny, c.Any
	case c.Not != nil:
		out.op, kids = opNot, []config.Condition{*c.Not}
	case c.Path == "":
		return nil, errors.New("a test needs a path")
	case c.Equals != nil:
		out.op, out.vals = opEquals, []any{c.Equals}
	case c.In != nil:
		// A copy: the conversion below must not write into the
		// configuration, which other mappers may be reading.
		out.op, out.vals = opEquals, slices.Clone(c.In)
	case c.Exists != nil:
		out.op = opMissing
		if *c.Exists {
			out.op = opExists
		}
	case c.Matches != "":
		re, err := compileRegexp(c.Matches)
		if err != nil {
			return nil, err
		}
		out.op, out.match = opMatches, re
	default:
		return nil, fmt.Errorf("path %q has no test (equals, in, exists or matches)", c.Path)
	}
	for i := range out.vals {
		v, err := yamlScalar(out.vals[i])
		if err != nil {
			return nil, err
		}
		out.vals[i] = v
	}
	for i := range kids {
		k, err := compileCond(&kids[i], pl)
		if err != nil {
			return nil, err
		}
		out.kids = append(out.kids, k)
	}
	return out, nil
}

// eval reports whether the condition holds for d.
func (c *cond) eval(d *doc) bool {
	switch c.op {
	case opAll:
		for _, k := range c.kids {
			if !k.eval(d) {
				return false
			}
		}
		return true
	case opAny:
		for _, k := range c.kids {
			if k.eval(d) {
				return true
			}
		}
		return false
	case opNot:
		return !c.kids[0].eval(d)
	}
	res, present := d.present(c.path)
	switch c.op {
	case opExists:
		return present
	case opMissing:
		return !present
	case opMatches:
		return present && c.match.MatchString(text(res))
	}
	for _, want := range c.vals {
		if equal(res, want) {
			return true
		}
	}
	return false
}

// equal compares a JSON value with a condition's constant: strings as
// strings, numbers numerically, booleans as booleans; types never mix.
func equal(res gjson.Result, want any) bool {
	switch w := want.(type) {
	case string:
		return res.Type == gjson.String && res.Str == w
	case bool:
		return (res.Type == gjson.True && w) || (res.Type == gjson.False && !w)
	case float64:
		return res.Type == gjson.Number && res.Num == w
	}
	return false
}

// yamlScalar turns a condition's YAML constant into what equal compares.
func yamlScalar(v any) (any, error) {
	switch x := v.(type) {
	case string, bool, float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	}
	return nil, fmt.Errorf("want a string, number or boolean to compare with, got %v", v)
}

// text is the text form of a JSON value: a string's content, otherwise
// the JSON itself.
func text(res gjson.Result) string {
	if res.Type == gjson.String {
		return res.Str
	}
	return strings.TrimSpace(res.Raw)
}

// recordValue converts a present, non-null JSON value to a record value.
func recordValue(res gjson.Result) any {
	switch res.Type {
	case gjson.String:
		return res.Str
	case gjson.Number:
		return json.Number(res.Raw)
	case gjson.True:
		return true
	case gjson.False:
		return false
	}
	return json.RawMessage(res.Raw)
}

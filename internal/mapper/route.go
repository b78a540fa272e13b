package mapper

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/expression"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// route is a compiled config.Route.
type route struct {
	name  string
	topic string
	when  *cond
	skip  bool

	outs   []*output // one for a route without outputs
	fanout bool      // the route lists outputs: each fails on its own
}

// output is a compiled config.Output: one Optikpi record a route emits.
type output struct {
	route    string
	name     string // "" for a route without outputs
	when     *cond
	idSuffix string // appended to a derived event_id: ":name" but for the first output
	kind     optikpi.Kind
	dest     string
	fixed    []fixedField // account_id, workspace_id, event_category
	fields   []*field
	eventID  int // position of event_id in the model's fields, -1 for none
	validate optikpi.ValidateOptions
}

type fixedField struct {
	index int // in the model's fields
	value optikpi.Value
}

// compileRoute compiles cr, the route at key (such as routing.routes[0]),
// reporting each of its problems to ps; the route is whole only when it
// reported none.
func compileRoute(cr *config.Route, key string, dests map[string]*config.Destination, strict bool, pl *plan, ps *config.Problems) *route {
	r := &route{name: cr.Name, topic: cr.Topic, skip: cr.Skip, fanout: cr.Outputs != nil}
	if cr.When != nil {
		r.when = compileCond(cr.When, key+".when", pl, ps)
	}
	if r.skip {
		return r
	}
	outs := cr.Emits()
	for i := range outs {
		co := &outs[i]
		o := &output{route: cr.Name, name: co.Name}
		if i > 0 {
			o.idSuffix = ":" + co.Name
		}
		okey := key
		if r.fanout {
			okey = fmt.Sprintf("%s.outputs[%d]", key, i)
		}
		o.compile(co, okey, dests, strict, pl, ps)
		r.outs = append(r.outs, o)
	}
	return r
}

// compile fills o from co, the output at key, reporting its problems to ps.
func (o *output) compile(co *config.Output, key string, dests map[string]*config.Destination, strict bool, pl *plan, ps *config.Problems) {
	o.validate = optikpi.ValidateOptions{Strict: strict}
	if co.When != nil {
		o.when = compileCond(co.When, key+".when", pl, ps)
	}
	// config.Parse names the destination when only one is configured.
	d, ok := dests[co.Destination]
	if !ok {
		ps.Add(key+".destination", "no destination named %q", co.Destination)
		return
	}
	o.dest = d.Name
	kind, err := optikpi.ParseKind(co.Model)
	if err != nil {
		ps.Add(key+".model", "want one of %s, got %q", modelNames(), co.Model)
		return
	}
	o.kind = kind
	for _, name := range [...]string{"account_id", "workspace_id", "event_category"} {
		i, ok := kind.FieldIndex(name)
		if !ok || !automatic(kind, name) {
			continue
		}
		v := kind.EventCategory()
		switch name {
		case "account_id":
			v = d.AccountID
		case "workspace_id":
			v = d.WorkspaceID
		}
		// Marked once here, so that no record escapes it again.
		o.fixed = append(o.fixed, fixedField{i, optikpi.MarkPlain(optikpi.String(v))})
	}
	o.eventID = -1
	if i, ok := kind.FieldIndex("event_id"); ok {
		o.eventID = i
	}
	checkTargets(kind, co.Fields, key+".fields", strict, ps)
	for i := range co.Fields {
		fr := &co.Fields[i]
		f := compileField(fr, key+".fields."+fr.Target, pl, ps)
		if f == nil {
			continue
		}
		if i, ok := kind.FieldIndex(fr.Target); ok {
			f.index = i
			checkConstants(kind, f, key+".fields."+fr.Target, strict, ps)
		}
		o.fields = append(o.fields, f)
	}
}

// mapRecord builds, validates and encodes the Optikpi record of d in b.
func (o *output) mapRecord(d *doc, b *optikpi.Builder) (optikpi.Encoded, *Failure) {
	b.Reset(o.kind)
	for _, f := range o.fixed {
		b.Set(f.index, f.value)
	}
	for _, f := range o.fields {
		var v optikpi.Value
		var ok bool
		if f.direct { // most fields: what value gives, without its call
			if v, ok = d.fromValue(f.path); !ok {
				v, ok = f.def, f.hasDef
			}
		} else {
			var err error
			if v, ok, err = f.value(d); err != nil {
				return optikpi.Encoded{}, &Failure{Reason: failure.Invalid, Route: o.route, Output: o.name, Field: f.target, Message: err.Error()}
			}
		}
		switch {
		case !ok:
		case f.index >= 0:
			b.Set(f.index, v)
		default:
			b.SetExtra(f.target, v)
		}
	}
	if o.eventID >= 0 {
		if id, ok := b.Get(o.eventID); !ok || emptyID(id) {
			start := len(d.arena)
			d.arena = append(derivedEventID(d.arena, d.rec), o.idSuffix...)
			b.Set(o.eventID, optikpi.String(d.text(start)))
		}
	}
	// The Encoded owns its bytes, so nothing aliases the Kafka record.
	enc, err := b.Encode(o.validate)
	if err != nil {
		f := &Failure{Reason: failure.Invalid, Route: o.route, Output: o.name, Message: err.Error()}
		if ve, ok := errors.AsType[*optikpi.ValidationError](err); ok {
			f.Field, f.Message = ve.Field, ve.Issue
		}
		return optikpi.Encoded{}, f
	}
	return enc, nil
}

// mapOutputs maps each output of a fan-out route whose when holds, each on
// its own: one that fails carries its Failure, and the others still go.
func (r *route) mapOutputs(d *doc, b *optikpi.Builder) Result {
	res := Result{Route: r.name}
	n := 0
	for _, o := range r.outs {
		var enc optikpi.Encoded
		var f *Failure
		if o.when != nil {
			ok, err := o.when.eval(d)
			if err != nil {
				// Like a route's when: an error is the output's failure,
				// never a silent "does not hold".
				f = &Failure{Reason: failure.Invalid, Route: o.route, Output: o.name, Message: "when: " + err.Error()}
			} else if !ok {
				continue
			}
		}
		if f == nil {
			enc, f = o.mapRecord(d, b)
		}
		out := Output{Name: o.name, Destination: o.dest, Record: enc, Failure: f}
		if n == 0 {
			res.Output = out
		} else {
			res.More = append(res.More, out)
		}
		n++
	}
	res.Skipped = n == 0
	return res
}

// cond is a compiled config.Condition.
type cond struct {
	path  *jpath
	on    condOn
	head  string // the header name, for onHeader
	op    condOp
	vals  []any    // for equals (one) and in
	strs  []string // vals, when all are strings: compared without a gjson.Result
	match interface{ MatchString(string) bool }
	prog  *expression.Program // for opExpr
	kids  []*cond
}

// condOn is what a test reads.
type condOn uint8

const (
	onPath   condOn = iota
	onKey           // meta: key
	onHeader        // meta: header:NAME
)

type condOp uint8

const (
	opEquals condOp = iota
	opExists
	opMissing
	opMatches
	opAll
	opAny
	opNot
	opExpr
)

// compileCond compiles c, the condition at key, reporting to ps what
// config.Parse leaves to it: an expr that does not compile. Parse checked
// the rest (a test or a branch, the regular expression, the values).
func compileCond(c *config.Condition, key string, pl *plan, ps *config.Problems) *cond {
	var kids []config.Condition
	kidKey := func(i int) string { return fmt.Sprintf("%s.all[%d]", key, i) }
	out := &cond{}
	if c.Path != "" {
		out.path = pl.path(c.Path)
	}
	if c.Meta != "" {
		out.compileMeta(c)
	}
	switch {
	case len(c.All) > 0:
		out.op, kids = opAll, c.All
	case len(c.Any) > 0:
		out.op, kids = opAny, c.Any
		kidKey = func(i int) string { return fmt.Sprintf("%s.any[%d]", key, i) }
	case c.Not != nil:
		out.op, kids = opNot, []config.Condition{*c.Not}
		kidKey = func(int) string { return key + ".not" }
	case c.Expr != "":
		p, err := expression.Compile(c.Expr, expression.Condition)
		if err != nil {
			ps.Add(key+".expr", "%v", err)
		}
		out.op, out.prog = opExpr, p
	case c.Equals != nil:
		out.op, out.vals = opEquals, []any{c.Equals}
	case c.In != nil:
		// A copy: the loop below converts it, and c belongs to the
		// configuration, which other mappers read.
		out.op, out.vals = opEquals, slices.Clone(c.In)
	case c.Exists != nil:
		out.op = opMissing
		if *c.Exists {
			out.op = opExists
		}
	case c.Matches != "":
		re, err := config.CompileMatches(c.Matches)
		if err != nil {
			ps.Add(key+".matches", "%v", err)
		}
		out.op, out.match = opMatches, re
	}
	for i := range out.vals {
		v, ok := config.Scalar(out.vals[i])
		if !ok {
			ps.Add(key, "want a string, number or boolean to compare with, got %v", out.vals[i])
		}
		out.vals[i] = v
		if s, isStr := v.(string); isStr && len(out.strs) == i {
			out.strs = append(out.strs, s)
		}
	}
	if len(out.strs) != len(out.vals) {
		out.strs = nil
	}
	for i := range kids {
		out.kids = append(out.kids, compileCond(&kids[i], kidKey(i), pl, ps))
	}
	return out
}

// compileMeta makes c test the record's key or a header (as text, so that
// the tests on a string value apply unchanged). config.Parse checked the
// meta and its values.
func (c *cond) compileMeta(cc *config.Condition) {
	if name, isHeader := config.HeaderMeta(cc.Meta); isHeader {
		c.on, c.head = onHeader, name
		return
	}
	c.on = onKey
}

// eval reports whether the condition holds for d; the error is an
// expression's, at run time.
func (c *cond) eval(d *doc) (bool, error) {
	switch c.op {
	case opAll:
		for _, k := range c.kids {
			if ok, err := k.eval(d); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	case opAny:
		for _, k := range c.kids {
			if ok, err := k.eval(d); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	case opNot:
		ok, err := c.kids[0].eval(d)
		return !ok && err == nil, err
	case opExpr:
		x, err := d.run(c.prog)
		if err != nil {
			return false, fmt.Errorf("expr: %w", err)
		}
		ok, isBool := x.(bool)
		if !isBool {
			return false, fmt.Errorf("expr: want true or false, got %T %v", x, x)
		}
		return ok, nil
	}
	if c.strs != nil && c.on == onPath {
		// What equal does for string constants, from the value as a field
		// reads it: a string equal to one of them.
		v, ok := d.value(c.path)
		return ok && v.Type == optikpi.ValueString && slices.Contains(c.strs, v.Text), nil
	}
	var res gjson.Result
	var present bool
	switch c.on {
	case onPath:
		res, present = d.present(c.path)
	case onKey:
		present = d.rec.Key != nil
		res = gjson.Result{Type: gjson.String, Str: view(d.rec.Key)}
	case onHeader:
		var h []byte
		h, present = firstHeader(d.rec, c.head)
		res = gjson.Result{Type: gjson.String, Str: view(h)}
	}
	switch c.op {
	case opExists:
		return present, nil
	case opMissing:
		return !present, nil
	case opMatches:
		return present && c.match.MatchString(text(res)), nil
	}
	for _, want := range c.vals {
		if present && equal(res, want) {
			return true, nil
		}
	}
	return false, nil
}

// matches reports whether the route's condition holds for d; a failure
// when an expression of it failed, which dead-letters the record rather
// than let it fall through to the next route.
func (r *route) matches(d *doc) (bool, *Failure) {
	if r.when == nil {
		return true, nil
	}
	ok, err := r.when.eval(d)
	if err != nil {
		return false, &Failure{Reason: failure.Invalid, Route: r.name, Message: "when: " + err.Error()}
	}
	return ok, nil
}

// equal compares a JSON value with a condition's constant, as
// config.Scalar gives it: strings as strings, numbers numerically,
// booleans as booleans; types never mix.
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

// text is the text form of a JSON value: a string's content, otherwise
// the JSON itself.
func text(res gjson.Result) string {
	if res.Type == gjson.String {
		return res.Str
	}
	return strings.TrimSpace(res.Raw)
}

// recordValue converts a present, non-null JSON value to a record value.
func recordValue(res *gjson.Result) optikpi.Value {
	switch res.Type {
	case gjson.String:
		// Not Plain: res may not be from the checked value (a "!" literal
		// or a modifier's output), and its Raw then holds what it likes.
		// doc.value marks the strings read from the record's own text.
		return optikpi.String(res.Str)
	case gjson.Number:
		return optikpi.Value{Type: optikpi.ValueNumber, Text: res.Raw}
	case gjson.True:
		return optikpi.Bool(true)
	case gjson.False:
		return optikpi.Bool(false)
	}
	return optikpi.Value{Type: optikpi.ValueJSON, Text: res.Raw}
}

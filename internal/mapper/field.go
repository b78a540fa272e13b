package mapper

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/expression"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// field is a compiled config.FieldRule.
type field struct {
	target string
	index  int // position in the model's fields, -1 for an extra field

	src      source
	path     *jpath              // srcPath
	firstOf  []*jpath            // srcFirstOf
	constant optikpi.Value       // srcConst
	tmpl     []tmplPart          // srcTemplate, srcTemplateJSON
	meta     string              // srcMeta: a config.Meta* value, the header name for metaHeader
	prog     *expression.Program // srcExpr

	def, fallback       optikpi.Value
	hasDef, hasFallback bool

	vmap map[string]optikpi.Value
	// A small vmap, as most are, is also its keys and values in two
	// lists: comparing a few strings is cheaper than a map's lookup.
	vkeys []string
	vvals []optikpi.Value
	keep  bool

	before, steps []step // the transforms before map, and after

	// direct is a path and nothing more, as most rules are: mapRecord
	// reads it without value's call and general steps, to the same value.
	direct bool
}

type source uint8

const (
	srcPath source = iota
	srcFirstOf
	srcConst
	srcTemplate
	srcTemplateJSON
	srcMeta
	srcMetaHeader
	srcExpr
)

// tmplPart is a literal, or a path when path is not nil.
type tmplPart struct {
	lit      string
	path     *jpath
	inString bool // in a JSON string of a template_json
}

// step is one transform.
type step struct {
	name string
	fn   transformFn
}

// compileField compiles fr, reporting each of its problems at key (such as
// routing.routes[0].fields.amount) to ps; nil when it has any.
func compileField(fr *config.FieldRule, key string, pl *plan, ps *config.Problems) *field {
	r := &rule{FieldRule: fr, key: key, ps: ps}
	r.checkShape()
	r.checkParams()
	f := &field{target: fr.Target, index: -1, keep: fr.KeepUnmapped}
	if fr.Path != "" {
		f.path = pl.path(fr.Path)
	}
	if fr.FirstOf != nil {
		f.src = srcFirstOf
		for _, p := range fr.FirstOf {
			f.firstOf = append(f.firstOf, pl.path(p))
		}
	}
	if fr.Const != nil {
		f.src = srcConst
		f.constant, _ = r.value(".const", fr.Const)
	}
	if fr.Template != "" || fr.TemplateJSON != "" {
		f.src = srcTemplate
		key, text, parse := "template", fr.Template, config.ParseTemplate
		if fr.TemplateJSON != "" {
			f.src, key, text, parse = srcTemplateJSON, "template_json", fr.TemplateJSON, config.ParseJSONTemplate
		}
		parts, err := parse(text)
		if err != nil {
			r.add("."+key, "%v", err)
		}
		for _, p := range parts {
			tp := tmplPart{lit: p.Literal, inString: p.InString}
			if p.Path != "" {
				tp.path = pl.path(p.Path)
			}
			f.tmpl = append(f.tmpl, tp)
		}
	}
	if fr.Meta != "" {
		f.src, f.meta = srcMeta, fr.Meta
		if name, ok := config.HeaderMeta(fr.Meta); ok {
			f.src, f.meta = srcMetaHeader, name
		} else if !config.RecordMeta(fr.Meta) {
			r.add(".meta", "want key, topic, partition, offset, timestamp or header:NAME, got %q", fr.Meta)
		}
	}
	if fr.Expr != "" {
		f.src = srcExpr
		var err error
		if f.prog, err = expression.Compile(fr.Expr, expression.Field); err != nil {
			r.add(".expr", "%v", err)
		}
	}
	f.def, f.hasDef = r.value(".default", fr.Default)
	f.fallback, f.hasFallback = r.value(".fallback", fr.Fallback)
	if fr.Map != nil {
		f.vmap = make(map[string]optikpi.Value, len(fr.Map))
		for _, k := range slices.Sorted(maps.Keys(fr.Map)) { // problems not in the map's random order
			f.vmap[k], _ = r.value(".map."+k, fr.Map[k])
		}
		if len(f.vmap) <= smallMap {
			for k, v := range f.vmap {
				f.vkeys, f.vvals = append(f.vkeys, k), append(f.vvals, v)
			}
		}
	}
	f.before = compileSteps(r, "transform_before", fr.TransformBefore, pl)
	f.steps = compileSteps(r, "transform", fr.Transform, pl)
	if r.bad {
		return nil
	}
	f.direct = f.src == srcPath && len(f.before) == 0 && f.vmap == nil && len(f.steps) == 0
	return f
}

// compileSteps compiles the transforms names of the rule's key list
// (transform or transform_before).
func compileSteps(r *rule, list string, names []string, pl *plan) []step {
	var steps []step
	for i, name := range names {
		if fn := compileTransform(name, r, fmt.Sprintf(".%s[%d]", list, i), pl); fn != nil {
			steps = append(steps, step{name, fn})
		}
	}
	return steps
}

// compileValue is yamlValue as a Value; ok is false for nil, no value.
func compileValue(y any) (_ optikpi.Value, ok bool, _ error) {
	v, err := yamlValue(y)
	if err != nil {
		return optikpi.Value{}, false, err
	}
	// yamlValue returns only types a Value holds.
	x, _ := optikpi.ValueOf(v)
	return optikpi.MarkPlain(x), v != nil, nil
}

// value returns the field's value for d, false when the field is to be
// left out.
func (f *field) value(d *doc) (optikpi.Value, bool, error) {
	var v optikpi.Value
	var ok bool
	if f.src == srcExpr {
		x, err := d.run(f.prog)
		if err == nil {
			v, ok, err = d.exprValue(x)
		}
		if err != nil {
			return optikpi.Value{}, false, fmt.Errorf("expr: %w", err)
		}
	} else {
		v, ok = f.source(d)
	}
	if !ok {
		return f.def, f.hasDef, nil
	}
	// Most rules have no transforms, or none before map: no call for them.
	var err error
	if len(f.before) > 0 {
		if v, err = run(f.before, v, d); err != nil {
			return optikpi.Value{}, false, err
		}
	}
	if f.vmap != nil {
		key, ok := valueKey(v)
		if !ok {
			return optikpi.Value{}, false, fmt.Errorf("map: want a string, number or boolean, got %s", describeValue(v))
		}
		switch m, found := f.mapped(key); {
		case found:
			v = m
		case f.hasFallback:
			v = f.fallback
		case !f.keep:
			return optikpi.Value{}, false, fmt.Errorf("map: no mapping for %s and no fallback", describeValue(v))
		}
	}
	if len(f.steps) > 0 {
		if v, err = run(f.steps, v, d); err != nil {
			return optikpi.Value{}, false, err
		}
	}
	return v, true, nil
}

// smallMap is the most entries of a map: rule that mapped looks up in a
// list.
const smallMap = 8

// mapped is f.vmap[key].
func (f *field) mapped(key string) (optikpi.Value, bool) {
	if f.vkeys == nil {
		v, ok := f.vmap[key]
		return v, ok
	}
	for i, k := range f.vkeys {
		if k == key {
			return f.vvals[i], true
		}
	}
	return optikpi.Value{}, false
}

// run applies steps to v in order.
func run(steps []step, v optikpi.Value, d *doc) (optikpi.Value, error) {
	for _, s := range steps {
		var err error
		if v, err = s.fn(v, d); err != nil {
			return optikpi.Value{}, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return v, nil
}

func (f *field) source(d *doc) (optikpi.Value, bool) {
	rec := d.rec
	switch f.src {
	case srcPath:
		return d.fromValue(f.path)
	case srcFirstOf:
		for _, p := range f.firstOf {
			if v, ok := d.fromValue(p); ok {
				return v, true
			}
		}
		return optikpi.Value{}, false
	case srcConst:
		return f.constant, true
	case srcTemplate:
		s, ok := f.template(d)
		return optikpi.String(s), ok
	case srcTemplateJSON:
		s, ok := f.template(d)
		return optikpi.Value{Type: optikpi.ValueJSON, Text: s}, ok
	case srcMetaHeader:
		h, ok := firstHeader(rec, f.meta)
		return optikpi.String(d.keep(h)), ok
	}
	start := len(d.arena)
	switch f.meta {
	case config.MetaKey:
		if rec.Key == nil {
			return optikpi.Value{}, false
		}
		return optikpi.String(d.keep(rec.Key)), true
	case config.MetaTopic:
		return optikpi.String(rec.Topic), true
	case config.MetaPartition:
		d.arena = strconv.AppendInt(d.arena, int64(rec.Partition), 10)
		return jsonNumber(d.text(start)), true
	case config.MetaOffset:
		d.arena = strconv.AppendInt(d.arena, rec.Offset, 10)
		return jsonNumber(d.text(start)), true
	case config.MetaTimestamp:
		if rec.Timestamp.IsZero() {
			return optikpi.Value{}, false
		}
		return d.formatTime(rec.Timestamp)
	}
	return optikpi.Value{}, false
}

// fromValue reads p as d.value does, and marks what it reads Plain when it
// is JSON or a number that views d's value: a part that gjson found of a
// value Map checked whole, so valid JSON (optikpi.Value.Plain). A value a
// path made (a modifier's, even one viewing d's value: @fromstr of "1abc"
// is the number 1abc) is left to validation.
func (d *doc) fromValue(p *jpath) (optikpi.Value, bool) { return d.read(p, true) }

// within reports whether s lies in the memory of whole.
func within(s, whole string) bool {
	at := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	base := uintptr(unsafe.Pointer(unsafe.StringData(whole)))
	return at >= base && at+uintptr(len(s)) <= base+uintptr(len(whole))
}

// template renders a template or a template_json; when all its values
// are missing the field is missing. A template renders a missing value as
// nothing and is trimmed; a template_json renders values as appendJSON
// does, and ParseJSONTemplate made sure that the result is JSON.
func (f *field) template(d *doc) (string, bool) {
	asJSON := f.src == srcTemplateJSON
	start := len(d.arena)
	found, paths := false, 0
	for _, p := range f.tmpl {
		if p.path == nil {
			d.arena = append(d.arena, p.lit...)
			continue
		}
		paths++
		res, ok := d.present(p.path)
		found = found || ok
		switch {
		case asJSON:
			d.arena = appendJSON(d.arena, res, ok, p.inString)
		case ok:
			d.arena = append(d.arena, text(res)...)
		}
	}
	if paths > 0 && !found {
		d.arena = d.arena[:start]
		return "", false
	}
	if asJSON {
		return d.text(start), true
	}
	return strings.TrimSpace(d.text(start)), true
}

// appendJSON appends a template_json value: outside quotes as JSON (null
// when missing), inside quotes its text escaped (nothing when missing).
func appendJSON(b []byte, res gjson.Result, ok, inString bool) []byte {
	switch {
	case inString && ok && res.Type == gjson.String:
		// Raw is the string as the record escaped it.
		return append(b, res.Raw[1:len(res.Raw)-1]...)
	case inString && ok:
		at := len(b)
		b = optikpi.AppendString(b, strings.TrimSpace(res.Raw))
		// Without its quotes: the template has them.
		n := copy(b[at:], b[at+1:len(b)-1])
		return b[:at+n]
	case inString:
		return b
	case ok:
		return append(b, strings.TrimSpace(res.Raw)...)
	}
	return append(b, "null"...)
}

// valueKey is the text a value map looks a value up by.
func valueKey(v optikpi.Value) (string, bool) {
	switch v.Type {
	case optikpi.ValueString, optikpi.ValueNumber:
		return v.Text, true
	case optikpi.ValueTrue:
		return "true", true
	case optikpi.ValueFalse:
		return "false", true
	}
	return "", false
}

// wantValue is what a constant of a rule may be.
const wantValue = "want a string, number, boolean, or (for JSON fields) an object or list"

// yamlValue turns a value decoded from YAML into a record value: numbers
// become json.Number, objects and lists JSON.
func yamlValue(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool:
		return x, nil
	case int:
		return json.Number(strconv.Itoa(x)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", x)
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", wantValue, err)
		}
		return json.RawMessage(b), nil
	}
	return nil, fmt.Errorf("%s, got %v", wantValue, v)
}

// describe shows a value in an error message, cut short.
func describe(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strconv.Quote(x)
	case json.Number:
		s = string(x)
	case json.RawMessage:
		s = string(x)
	case nil:
		s = "null"
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:61], "") + "..."
	}
	return s
}

// formatTime formats t as the API wants it (optikpi.AppendDateTime) in
// d's arena, as a string Value that is plain and a date-time:
// digits and separators only, in the API's form (TestAppendDateTime
// checks both).
func (d *doc) formatTime(t time.Time) (optikpi.Value, bool) {
	return d.timeText(optikpi.AppendDateTime(d.arena, t))
}

// timeText is the string Value of a time that an optikpi function
// formatted as AppendDateTime does: b is d's arena with the time appended
// (the function's results), when ok.
func (d *doc) timeText(b []byte, ok bool) (optikpi.Value, bool) {
	if !ok {
		return optikpi.Value{}, false
	}
	start := len(d.arena)
	d.arena = b
	return optikpi.Value{Type: optikpi.ValueString, Text: d.text(start), Plain: true, DateTime: true}, true
}

package mapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/optikpi/optikpi-relay/internal/config"
)

// field is a compiled config.FieldRule.
type field struct {
	target string

	src      source
	path     *jpath     // srcPath
	constant any        // srcConst
	tmpl     []tmplPart // srcTemplate
	meta     string     // srcMeta: a config.Meta* value, the header name for metaHeader
	def      any        // nil for none

	vmap     map[string]any
	fallback any // nil for none
	keep     bool

	steps []step
}

type source uint8

const (
	srcPath source = iota
	srcConst
	srcTemplate
	srcMeta
	srcMetaHeader
)

// tmplPart is a literal, or a path when path is not nil.
type tmplPart struct {
	lit  string
	path *jpath
}

// step is one transform.
type step struct {
	name string
	fn   transformFn
}

func compileField(fr *config.FieldRule, pl *plan) (*field, error) {
	f := &field{target: fr.Target, keep: fr.KeepUnmapped}
	n := 0
	if fr.Path != "" {
		n++
		f.path = pl.path(fr.Path)
	}
	if fr.Const != nil {
		n++
		f.src = srcConst
		v, err := yamlValue(fr.Const)
		if err != nil {
			return nil, fmt.Errorf("const: %w", err)
		}
		f.constant = v
	}
	if fr.Template != "" {
		n++
		f.src = srcTemplate
		parts, err := config.ParseTemplate(fr.Template)
		if err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		for _, p := range parts {
			tp := tmplPart{lit: p.Literal}
			if p.Path != "" {
				tp.path = pl.path(p.Path)
			}
			f.tmpl = append(f.tmpl, tp)
		}
	}
	if fr.Meta != "" {
		n++
		f.src, f.meta = srcMeta, fr.Meta
		if name, ok := strings.CutPrefix(fr.Meta, config.MetaHeader); ok {
			f.src, f.meta = srcMetaHeader, name
		} else {
			switch fr.Meta {
			case config.MetaKey, config.MetaTopic, config.MetaPartition, config.MetaOffset, config.MetaTimestamp:
			default:
				return nil, fmt.Errorf("unknown meta %q", fr.Meta)
			}
		}
	}
	if n != 1 {
		return nil, errors.New("want exactly one of path, const, template and meta")
	}
	var err error
	if f.def, err = yamlValue(fr.Default); err != nil {
		return nil, fmt.Errorf("default: %w", err)
	}
	if f.fallback, err = yamlValue(fr.Fallback); err != nil {
		return nil, fmt.Errorf("fallback: %w", err)
	}
	if fr.Map != nil {
		f.vmap = make(map[string]any, len(fr.Map))
		for k, v := range fr.Map {
			if f.vmap[k], err = yamlValue(v); err != nil {
				return nil, fmt.Errorf("map %q: %w", k, err)
			}
		}
	}
	for _, name := range fr.Transform {
		fn, err := compileTransform(name, fr, pl)
		if err != nil {
			return nil, err
		}
		f.steps = append(f.steps, step{name, fn})
	}
	return f, nil
}

// eval returns the field's value for d, false when the field is to be
// left out.
func (f *field) eval(d *doc) (any, bool, error) {
	v, ok := f.source(d)
	if !ok {
		if f.def != nil {
			return f.def, true, nil
		}
		return nil, false, nil
	}
	if f.vmap != nil {
		key, ok := mapKey(v)
		if !ok {
			return nil, false, fmt.Errorf("map: want a string, number or boolean, got %s", describe(v))
		}
		switch m, found := f.vmap[key]; {
		case found:
			v = m
		case f.fallback != nil:
			v = f.fallback
		case !f.keep:
			return nil, false, fmt.Errorf("map: no mapping for %s and no fallback", describe(v))
		}
	}
	for _, s := range f.steps {
		var err error
		if v, err = s.fn(v, d); err != nil {
			return nil, false, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return v, true, nil
}

func (f *field) source(d *doc) (any, bool) {
	rec := d.rec
	switch f.src {
	case srcPath:
		res, ok := d.present(f.path)
		if !ok {
			return nil, false
		}
		return recordValue(res), true
	case srcConst:
		return f.constant, true
	case srcTemplate:
		return f.template(d)
	case srcMetaHeader:
		for _, h := range rec.Headers {
			if h.Key == f.meta {
				return string(h.Value), true
			}
		}
		return nil, false
	}
	switch f.meta {
	case config.MetaKey:
		if rec.Key == nil {
			return nil, false
		}
		return string(rec.Key), true
	case config.MetaTopic:
		return rec.Topic, true
	case config.MetaPartition:
		return json.Number(strconv.FormatInt(int64(rec.Partition), 10)), true
	case config.MetaOffset:
		return json.Number(strconv.FormatInt(rec.Offset, 10)), true
	case config.MetaTimestamp:
		if rec.Timestamp.IsZero() {
			return nil, false
		}
		return formatTime(rec.Timestamp)
	}
	return nil, false
}

// template renders the template; missing values render as nothing, and
// when all are missing the field is missing.
func (f *field) template(d *doc) (any, bool) {
	var b strings.Builder
	found, paths := false, 0
	for _, p := range f.tmpl {
		if p.path == nil {
			b.WriteString(p.lit)
			continue
		}
		paths++
		res, ok := d.present(p.path)
		if !ok {
			continue
		}
		found = true
		b.WriteString(text(res))
	}
	if paths > 0 && !found {
		return nil, false
	}
	return strings.TrimSpace(b.String()), true
}

// mapKey is the text a value map looks a value up by.
func mapKey(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

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
			return nil, err
		}
		return json.RawMessage(b), nil
	}
	return nil, fmt.Errorf("unsupported value %v", v)
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

// compileRegexp is regexp.Compile; a function so that conditions and
// transforms share one dialect (RE2).
func compileRegexp(expr string) (*regexp.Regexp, error) { return regexp.Compile(expr) }

// formatTime formats t as the API wants it: RFC 3339 UTC with seconds, and
// milliseconds when not zero.
func formatTime(t time.Time) (any, bool) {
	t = t.UTC().Truncate(time.Millisecond)
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, false
	}
	layout := "2006-01-02T15:04:05Z"
	if t.Nanosecond() != 0 {
		layout = "2006-01-02T15:04:05.000Z"
	}
	return t.Format(layout), true
}

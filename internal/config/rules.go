package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // time_layout time zones work in a scratch container too

	"github.com/optikpi/optikpi-relay/internal/expression"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// Automatic reports whether the relay fills field of kind itself, so that
// a route may not: account_id and workspace_id from the destination,
// event_category from the model.
func Automatic(kind optikpi.Kind, field string) bool {
	switch field {
	case "account_id", "workspace_id":
		_, ok := kind.Field(field)
		return ok
	case "event_category":
		return kind.EventCategory() != ""
	}
	return false
}

// Derived reports whether field of kind gets a derived value when a route
// leaves it out or a record lacks it: event_id, from the record's topic,
// partition and offset.
func Derived(kind optikpi.Kind, field string) bool {
	if field != "event_id" {
		return false
	}
	_, ok := kind.Field(field)
	return ok
}

// validateRules checks a route's field rules against its model.
func validateRules(kind optikpi.Kind, rules FieldRules, key string, strict bool, p *problems) {
	seen := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		rk := join(key, r.Target)
		if seen[r.Target] {
			p.add(rk, "duplicate field")
		}
		seen[r.Target] = true
		switch _, known := kind.Field(r.Target); {
		case Automatic(kind, r.Target):
			p.add(rk, "filled by the relay (account_id and workspace_id from the destination, event_category from the model); remove this rule")
		case !known && !r.Extra:
			p.add(rk, "model %s has no field %q (set extra: true to send a field outside the model)", kind, r.Target)
		case known && r.Extra:
			p.add(rk+".extra", "%q is a field of model %s, not an extra one", r.Target, kind)
		}
		validateRule(r, rk, p)
	}
	for _, f := range kind.Fields() {
		if !(f.Required || strict && f.Strict.Required) || seen[f.Name] || Automatic(kind, f.Name) || Derived(kind, f.Name) {
			continue
		}
		why := "the guide requires it"
		if !f.Required {
			why = "sink.strict is on and the SDKs require it"
		}
		p.add(key, "no rule for %s (%s)", f.Name, why)
	}
}

// sourceKeys are the keys of a field rule's sources, in the order
// CheckSource names them.
var sourceKeys = []string{"path", "first_of", "const", "template", "template_json", "meta", "expr"}

// CheckSource reports a rule that gives no source or more than one: the
// one check of it, which validate and the mapper both make.
func (r *FieldRule) CheckSource() error {
	given := []bool{r.Path != "", r.FirstOf != nil, r.Const != nil, r.Template != "", r.TemplateJSON != "", r.Meta != "", r.Expr != ""}
	n := 0
	for _, g := range given {
		if g {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("want exactly one of %s and %s", strings.Join(sourceKeys[:len(sourceKeys)-1], ", "), sourceKeys[len(sourceKeys)-1])
	}
	return nil
}

func validateRule(r *FieldRule, key string, p *problems) {
	if err := r.CheckSource(); err != nil {
		p.add(key, "%v", err)
	}
	if r.FirstOf != nil && len(r.FirstOf) < 2 {
		p.add(key+".first_of", "want two paths or more (a single path is path)")
	}
	for i, path := range r.FirstOf {
		if path == "" {
			p.add(fmt.Sprintf("%s.first_of[%d]", key, i), "empty path")
		}
	}
	if r.Const != nil && r.Default != nil {
		p.add(key+".default", "a constant is never missing; remove default")
	}
	if r.Template != "" {
		if _, err := ParseTemplate(r.Template); err != nil {
			p.add(key+".template", "%v", err)
		}
	}
	if r.TemplateJSON != "" {
		if _, err := ParseJSONTemplate(r.TemplateJSON); err != nil {
			p.add(key+".template_json", "%v", err)
		}
	}
	if _, header := HeaderMeta(r.Meta); r.Meta != "" && !RecordMeta(r.Meta) && !header {
		p.add(key+".meta", "want key, topic, partition, offset, timestamp or header:NAME, got %q", r.Meta)
	}
	if r.Expr != "" {
		if _, err := expression.Compile(r.Expr, expression.Field); err != nil {
			p.add(key+".expr", "%v", err)
		}
	}
	if !isValue(r.Const) || !isValue(r.Default) || !isValue(r.Fallback) {
		p.add(key, "const, default and fallback must be strings, numbers, booleans, or (for JSON fields) objects or lists")
	}
	if r.Fallback != nil && r.KeepUnmapped {
		p.add(key+".keep_unmapped", "with fallback, an unmapped value is never kept")
	}
	if r.Map == nil && (r.Fallback != nil || r.KeepUnmapped) {
		p.add(key, "fallback and keep_unmapped go with map")
	}
	for k, v := range r.Map {
		if !isValue(v) {
			p.add(key+".map."+k, "want a string, number, boolean or object")
		}
	}

	uses := map[string]bool{}
	for _, list := range []struct {
		key   string
		names Names
	}{{"transform_before", r.TransformBefore}, {"transform", r.Transform}} {
		for i, t := range list.names {
			if !slices.Contains(Transforms(), t) {
				p.add(fmt.Sprintf("%s.%s[%d]", key, list.key, i), "unknown transform %q (want one of %s)", t, strings.Join(Transforms(), ", "))
			}
			uses[t] = true
		}
	}
	if r.TransformBefore != nil && r.Map == nil {
		p.add(key+".transform_before", "transform_before runs before map, and there is no map: use transform")
	}
	if uses[TransformMinorUnits] {
		n := 0
		if r.Exponent != nil {
			n++
			if *r.Exponent < 0 || *r.Exponent > 18 {
				p.add(key+".exponent", "must be 0 to 18, got %d", *r.Exponent)
			}
		}
		if r.Currency != "" {
			n++
			if _, ok := CurrencyExponent(r.Currency, r.Exponents); !ok {
				p.add(key+".currency", "no known exponent for %q; give exponent, or add it to exponents", r.Currency)
			}
		}
		if r.CurrencyPath != "" {
			n++
		}
		if n != 1 {
			p.add(key, "minor_units needs exactly one of exponent, currency and currency_path")
		}
		for c, e := range r.Exponents {
			if e < 0 || e > 18 {
				p.add(key+".exponents."+c, "must be 0 to 18, got %d", e)
			}
		}
	} else if r.Exponent != nil || r.Currency != "" || r.CurrencyPath != "" || r.Exponents != nil {
		p.add(key, "exponent, currency, currency_path and exponents are parameters of the minor_units transform")
	}
	if uses[TransformTimeLayout] {
		loc := time.UTC
		if r.Timezone != "" {
			var err error
			if loc, err = LoadZone(r.Timezone); err != nil {
				p.add(key+".timezone", "%v", err)
			}
		}
		if r.Layout == "" {
			p.add(key+".layout", "required by time_layout: a Go reference layout such as \"2006-01-02 15:04:05\"")
		} else if err := CheckLayout(r.Layout, loc); err != nil {
			p.add(key+".layout", "%v", err)
		}
	} else if r.Layout != "" || r.Timezone != "" || r.TimezonePath != "" {
		p.add(key, "layout, timezone and timezone_path are parameters of the time_layout transform")
	}
}

// isValue reports whether v, decoded from YAML, can become a record value.
func isValue(v any) bool {
	switch x := v.(type) {
	case nil, string, int, int64, uint64, float64, bool:
		return true
	case map[string]any:
		for _, e := range x {
			if !isValue(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !isValue(e) {
				return false
			}
		}
		return true
	}
	return false
}

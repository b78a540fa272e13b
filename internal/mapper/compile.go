package mapper

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// New's checks of what config.Parse leaves to it: whatever needs the API's
// models. Each problem is reported at its key, with its line, by the
// configuration's config.Problems.

// automatic reports whether the relay fills field of kind itself, so that
// a route may not: account_id and workspace_id from the destination,
// event_category from the model.
func automatic(kind optikpi.Kind, field string) bool {
	switch field {
	case "account_id", "workspace_id":
		_, ok := kind.Field(field)
		return ok
	case "event_category":
		return kind.EventCategory() != ""
	}
	return false
}

// derived reports whether field of kind gets a derived value when a route
// leaves it out, a record lacks it or its value is emptyID: event_id, from
// the record's topic, partition and offset (derivedEventID).
func derived(kind optikpi.Kind, field string) bool {
	if field != "event_id" {
		return false
	}
	_, ok := kind.Field(field)
	return ok
}

// emptyID reports whether v, an event_id's value, is empty, and so
// replaced by the derived one.
func emptyID(v optikpi.Value) bool { return v.Type == optikpi.ValueString && v.Text == "" }

// modelNames lists the models, for messages.
func modelNames() string {
	var names []string
	for _, k := range optikpi.Kinds() {
		names = append(names, k.String())
	}
	return strings.Join(names, ", ")
}

// checkRateLimits checks that sink.rate_limits names models: the sink's
// setting, but the compile is where the models are known.
func checkRateLimits(cfg *config.Config, ps *config.Problems) {
	for _, name := range slices.Sorted(maps.Keys(cfg.Sink.RateLimits)) { // not the map's random order
		if _, err := optikpi.ParseKind(name); err != nil {
			ps.Add("sink.rate_limits."+name, "unknown model (want one of %s)", modelNames())
		}
	}
}

// checkTargets checks the targets of an output's rules at key against its
// model: each known, or extra, once, not filled by the relay; and every
// required field has a rule (with strict, the SDKs' required ones too).
func checkTargets(kind optikpi.Kind, rules config.FieldRules, key string, strict bool, ps *config.Problems) {
	seen := map[string]bool{}
	for i := range rules {
		r := &rules[i]
		rk := key + "." + r.Target
		if seen[r.Target] {
			ps.Add(rk, "duplicate field")
		}
		seen[r.Target] = true
		switch _, known := kind.Field(r.Target); {
		case automatic(kind, r.Target):
			ps.Add(rk, "filled by the relay (account_id and workspace_id from the destination, event_category from the model); remove this rule")
		case !known && !r.Extra:
			ps.Add(rk, "model %s has no field %q (set extra: true to send a field outside the model)", kind, r.Target)
		case known && r.Extra:
			ps.Add(rk+".extra", "%q is a field of model %s, not an extra one", r.Target, kind)
		}
	}
	for _, f := range kind.Fields() {
		if !(f.Required || strict && f.Strict.Required) || seen[f.Name] || automatic(kind, f.Name) || derived(kind, f.Name) {
			continue
		}
		why := "the guide requires it"
		if !f.Required {
			why = "sink.strict is on and the SDKs require it"
		}
		ps.Add(key, "no rule for %s (%s)", f.Name, why)
	}
}

// rule is a field rule being compiled: where its problems go.
type rule struct {
	*config.FieldRule
	key string // such as routing.routes[0].fields.amount
	ps  *config.Problems
	bad bool // a problem was reported

	compiled map[string]transformFn // time_layout and minor_units, once compiled
}

// add reports a problem at the rule's key followed by sub (".layout", or
// "" for the rule itself).
func (r *rule) add(sub, format string, args ...any) {
	r.bad = true
	r.ps.Add(r.key+sub, format, args...)
}

// checkShape checks what a rule's keys say of each other, whatever their
// values: one source, first_of's paths, and what goes with map.
func (r *rule) checkShape() {
	if err := r.CheckSource(); err != nil {
		r.add("", "%v", err)
	}
	if r.FirstOf != nil && len(r.FirstOf) < 2 {
		r.add(".first_of", "want two paths or more (a single path is path)")
	}
	for i, path := range r.FirstOf {
		if path == "" {
			r.add(fmt.Sprintf(".first_of[%d]", i), "empty path")
		}
	}
	if r.Const != nil && r.Default != nil {
		r.add(".default", "a constant is never missing; remove default")
	}
	if r.Fallback != nil && r.KeepUnmapped {
		r.add(".keep_unmapped", "with fallback, an unmapped value is never kept")
	}
	if r.Map == nil && (r.Fallback != nil || r.KeepUnmapped) {
		r.add("", "fallback and keep_unmapped go with map")
	}
	if r.TransformBefore != nil && r.Map == nil {
		r.add(".transform_before", "transform_before runs before map, and there is no map: use transform")
	}
}

// checkParams reports the parameters of a transform the rule does not
// apply, and minor_units' exponents out of range.
func (r *rule) checkParams() {
	uses := func(name string) bool {
		return slices.Contains(r.TransformBefore, name) || slices.Contains(r.Transform, name)
	}
	if uses(config.TransformMinorUnits) {
		for _, c := range slices.Sorted(maps.Keys(r.Exponents)) { // not the map's random order
			r.checkExponent(".exponents."+c, r.Exponents[c])
		}
	} else if r.Exponent != nil || r.Currency != "" || r.CurrencyPath != "" || r.Exponents != nil {
		r.add("", "exponent, currency, currency_path and exponents are parameters of the minor_units transform")
	}
	if !uses(config.TransformTimeLayout) && (r.Layout != "" || r.Timezone != "" || r.TimezonePath != "") {
		r.add("", "layout, timezone and timezone_path are parameters of the time_layout transform")
	}
}

// value compiles the constant y of the rule's key sub (".const").
func (r *rule) value(sub string, y any) (optikpi.Value, bool) {
	v, ok, err := compileValue(y)
	if err != nil {
		r.add(sub, "%v", err)
	}
	return v, ok
}

// checkConstants reports a constant of f, compiled at key, that
// every record it is used for would fail validation with: default always
// (it is sent as written), const when no transform or map changes it, and
// the values of map and fallback when no transform follows them. An empty
// event_id is no failure: mapRecord derives one in its place.
func checkConstants(kind optikpi.Kind, f *field, key string, strict bool, ps *config.Problems) {
	check := func(sub string, v optikpi.Value) {
		if derived(kind, f.target) && emptyID(v) {
			return
		}
		if issue := kind.CheckValue(f.target, v, strict); issue != "" {
			ps.Add(key+sub, "%s: %s, for every record it is used for", describeValue(v), issue)
		}
	}
	if f.hasDef {
		check(".default", f.def)
	}
	if f.src == srcConst && len(f.before) == 0 && f.vmap == nil && len(f.steps) == 0 {
		check(".const", f.constant)
	}
	if len(f.steps) > 0 {
		return
	}
	if f.hasFallback {
		check(".fallback", f.fallback)
	}
	for _, k := range slices.Sorted(maps.Keys(f.vmap)) {
		check(".map."+k, f.vmap[k])
	}
}

// maxExponent bounds minor_units' exponents: 18 decimals is the most a
// currency uses (ether's wei); a larger one is a typo.
const maxExponent = 18

// checkExponent reports an exponent of minor_units at sub out of range.
func (r *rule) checkExponent(sub string, e int) bool {
	if e < 0 || e > maxExponent {
		r.add(sub, "must be 0 to %d, got %d", maxExponent, e)
		return false
	}
	return true
}

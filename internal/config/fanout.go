package config

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Output is one Optikpi record a route emits. A route lists several under
// outputs to fan one Kafka record out to several models (a signup to a
// customer profile and an account event); each output is mapped, delivered
// and dead-lettered on its own, and the Kafka record is done once every
// output emitted is delivered or dead-lettered.
type Output struct {
	// Name identifies the output in dead letters (their output header),
	// logs and `relay map test`. The derived event_id of every output but
	// the first ends in ":" and the name. Required, unique in its route.
	Name string `yaml:"name"`
	// When, if set, must also hold for the output to be emitted; a record
	// that emits no output of its route is skipped.
	When *Condition `yaml:"when"`
	// Model, Destination and Fields are those of a route without outputs.
	Model       string     `yaml:"model"`
	Destination string     `yaml:"destination"`
	Fields      FieldRules `yaml:"fields"`

	Line int `yaml:"-"`
}

// Emits returns what r emits: its Outputs, or else the one unnamed output of
// its own Model, Destination and Fields.
func (r *Route) Emits() []Output {
	if r.Outputs != nil {
		return r.Outputs
	}
	return []Output{{Model: r.Model, Destination: r.Destination, Fields: r.Fields, Line: r.Line}}
}

// validateOutputs checks the outputs of route rt at key.
func validateOutputs(c *Config, rt *Route, key string, p *Problems) {
	if rt.Model != "" || rt.Destination != "" || len(rt.Fields) > 0 {
		p.Add(key+".outputs", "a route gives either model, destination and fields, or outputs; not both")
	}
	if len(rt.Outputs) == 0 {
		p.Add(key+".outputs", "want at least one output, each with name, model and fields")
		return
	}
	seen := map[string]bool{}
	for i := range rt.Outputs {
		o := &rt.Outputs[i]
		ok := fmt.Sprintf("%s.outputs[%d]", key, i)
		checkName(o.Name, ok+".name", "output", seen, p)
		if o.When != nil {
			validateCondition(o.When, ok+".when", p)
		}
		validateTarget(c, &o.Destination, ok, p)
	}
}

// validateTarget checks the destination of a route or an output at key,
// filling it when only one is configured. Its model and fields are checked
// against the API's models by the mapper's compile (mapper.New).
func validateTarget(c *Config, dest *string, key string, p *Problems) {
	if *dest == "" && len(c.Destinations) == 1 {
		*dest = c.Destinations[0].Name
	}
	if *dest == "" {
		p.Add(key+".destination", "required when several destinations are configured")
	} else if !slices.ContainsFunc(c.Destinations, func(d Destination) bool { return d.Name == *dest }) {
		p.Add(key+".destination", "no destination named %q", *dest)
	}
}

// validateReachable refuses a route that no record can reach, for routes
// are tried in order and the first match wins: one after a route of the
// same topic without when, or with the same when as an earlier one.
func validateReachable(routes []Route, p *Problems) {
	for i := range routes {
		rt := &routes[i]
		if rt.Topic == "" {
			continue
		}
		key := fmt.Sprintf("routing.routes[%d]", i)
		for j := range i {
			prev := &routes[j]
			if prev.Topic != rt.Topic {
				continue
			}
			if prev.When == nil {
				p.Add(key, "route %q is unreachable: route %q (line %d) comes first, has no when and so takes every record of topic %q",
					rt.Name, prev.Name, prev.Line, rt.Topic)
				break
			}
			if rt.When != nil && sameCondition(prev.When, rt.When) {
				p.Add(key+".when", "route %q is unreachable: route %q (line %d) comes first with the same when and so takes every record this one would",
					rt.Name, prev.Name, prev.Line)
				break
			}
		}
	}
}

// sameCondition reports whether a and b test the same, as written: their
// YAML forms, without lines, are equal.
func sameCondition(a, b *Condition) bool {
	if plainlyDiffer(a, b) {
		return false // most pairs: no need to marshal (~100 µs each)
	}
	ya, erra := yaml.Marshal(a)
	yb, errb := yaml.Marshal(b)
	return erra == nil && errb == nil && string(ya) == string(yb)
}

// plainlyDiffer reports whether a and b differ in a way that makes their
// YAML forms differ: a text, the length of a list, a string to compare
// with, or whether a test is given at all. false says nothing.
func plainlyDiffer(a, b *Condition) bool {
	if a.Path != b.Path || a.Meta != b.Meta || a.Expr != b.Expr || a.Matches != b.Matches ||
		len(a.In) != len(b.In) || len(a.All) != len(b.All) || len(a.Any) != len(b.Any) ||
		(a.Not == nil) != (b.Not == nil) || (a.Exists == nil) != (b.Exists == nil) ||
		(a.Equals == nil) != (b.Equals == nil) {
		return true
	}
	sa, aok := a.Equals.(string)
	sb, bok := b.Equals.(string)
	return aok && bok && sa != sb
}

package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Route sends the records of one topic that meet a condition to one Optikpi
// model and destination.
type Route struct {
	// Name identifies the route in logs, metrics and dead letters.
	// Required, unique.
	Name string `yaml:"name"`
	// Topic is the Kafka topic the route reads (an exact name).
	Topic string `yaml:"topic"`
	// When, if set, must hold for the record to match.
	When *Condition `yaml:"when"`
	// Skip makes matching records counted and dropped instead of mapped
	// (test traffic, events Optikpi has no model for).
	Skip bool `yaml:"skip"`
	// Model is the Optikpi model name ("customer", "deposit", …). Required
	// unless Skip.
	Model string `yaml:"model"`
	// Destination names a destination; it may be left out when only one is
	// configured.
	Destination string `yaml:"destination"`
	// Fields says how each Optikpi field is filled. account_id and
	// workspace_id come from the destination and event_category from the
	// model; event_id, when not given or missing from a record, is derived
	// from the record's topic, partition and offset.
	Fields FieldRules `yaml:"fields"`
	// Outputs, instead of Model, Destination and Fields, fan one Kafka
	// record out to several Optikpi records (fanout.go).
	Outputs []Output `yaml:"outputs"`

	Line int `yaml:"-"` // where the route starts in the file
}

// Condition is a test on a record. A leaf names a Path or a Meta and
// exactly one of Equals, In, Exists or Matches, or is an Expr alone; a
// branch is exactly one of All, Any or Not.
type Condition struct {
	// Path is a gjson path into the record's value, such as "type" or
	// "payload.status".
	Path string `yaml:"path"`
	// Meta, instead of Path, tests the Kafka record's key ("key") or its
	// first header NAME ("header:NAME"), as text: CloudEvents' ce_type
	// header is "header:ce_type".
	Meta string `yaml:"meta"`
	// Expr is an expression that must be true, such as
	// 'headers.ce_type == "player.signup" && value.amount > 0'.
	Expr string `yaml:"expr"`
	// Equals holds when the value at Path equals it: strings as strings,
	// numbers numerically, booleans as booleans.
	Equals any `yaml:"equals"`
	// In holds when the value at Path equals one of its items.
	In []any `yaml:"in"`
	// Exists holds when Path is present and not null (true) or when it is
	// absent or null (false).
	Exists *bool `yaml:"exists"`
	// Matches holds when the value at Path, as text, matches the regular
	// expression (RE2 syntax).
	Matches string `yaml:"matches"`

	All []Condition `yaml:"all"`
	Any []Condition `yaml:"any"`
	Not *Condition  `yaml:"not"`

	Line int `yaml:"-"`
}

// The transforms a field rule may apply, in the order written.
const (
	// Times, to RFC 3339 UTC ("2024-01-15T10:30:00Z", milliseconds kept
	// when not zero).
	TransformUnixSeconds = "unix_seconds" // epoch seconds, number or numeric string, fraction allowed
	TransformUnixMillis  = "unix_millis"  // epoch milliseconds
	TransformUnixMicros  = "unix_micros"  // epoch microseconds
	TransformUnixNanos   = "unix_nanos"   // epoch nanoseconds
	TransformUnixAuto    = "unix_auto"    // epoch seconds, milliseconds, microseconds or nanoseconds by magnitude (docs/mapping.md)
	TransformRFC3339     = "rfc3339"      // any RFC 3339 time with an offset
	TransformTimestamp   = "timestamp"    // strings as rfc3339, numbers as unix_auto
	TransformTimeLayout  = "time_layout"  // a Go layout given by the rule's layout, in its timezone (default UTC)
	TransformDate        = "date"         // YYYY-MM-DD, from a date or an RFC 3339 time (its own calendar date)

	// TransformMinorUnits turns integer minor units into a decimal amount
	// (1050 cents to 10.5) with the currency's exponent: the rule's
	// exponent, or the ISO 4217 exponent of its currency or of the value at
	// its currency_path (overridable by exponents).
	TransformMinorUnits = "minor_units"

	// Coercions.
	TransformString  = "string"  // numbers keep their text, booleans "true"/"false"
	TransformNumber  = "number"  // from a number, or a string holding one
	TransformInteger = "integer" // like number, but the value must be whole
	TransformBoolean = "boolean" // true/false, "true"/"false", "yes"/"no", "1"/"0", 1/0

	// TransformJSONString encodes an object or array as a JSON string;
	// TransformJSONObject parses a JSON string holding an object. For
	// custom_data, ext_data and event_data.
	TransformJSONString = "json_string"
	TransformJSONObject = "json_object"

	TransformLower = "lower"
	TransformUpper = "upper"
	TransformTrim  = "trim"
)

// The values of FieldRule.Meta besides "header:NAME".
const (
	MetaKey       = "key"
	MetaTopic     = "topic"
	MetaPartition = "partition"
	MetaOffset    = "offset"
	MetaTimestamp = "timestamp"
	MetaHeader    = "header:" // a prefix
)

// RecordMeta reports whether meta is one of the Kafka record's own
// fields: key, topic, partition, offset or timestamp.
func RecordMeta(meta string) bool {
	switch meta {
	case MetaKey, MetaTopic, MetaPartition, MetaOffset, MetaTimestamp:
		return true
	}
	return false
}

// HeaderMeta returns the NAME of a meta "header:NAME"; false for any other
// meta, and for "header:" without a name.
func HeaderMeta(meta string) (name string, ok bool) {
	name, ok = strings.CutPrefix(meta, MetaHeader)
	return name, ok && name != ""
}

// Transforms lists every transform name.
func Transforms() []string {
	return []string{
		TransformUnixSeconds, TransformUnixMillis, TransformUnixMicros, TransformUnixNanos, TransformUnixAuto,
		TransformRFC3339, TransformTimestamp,
		TransformTimeLayout, TransformDate, TransformMinorUnits,
		TransformString, TransformNumber, TransformInteger, TransformBoolean,
		TransformJSONString, TransformJSONObject, TransformLower, TransformUpper, TransformTrim,
	}
}

// FieldRule fills one Optikpi field. Exactly one of Path, FirstOf, Const,
// Template, TemplateJSON, Meta and Expr is the source (CheckSource); a
// missing or null source value takes Default, or leaves the field out. A
// present value goes through each of TransformBefore, then Map, then each
// of Transform, in order. In YAML a rule that is a plain string is a Path.
type FieldRule struct {
	// Target is the Optikpi field filled, the rule's key under fields.
	Target string `yaml:"-"`

	// Path is a gjson path into the record's value: "player.id",
	// "items.0.sku", "tags.#" (a count), "bets.#(won==true).amount".
	Path string `yaml:"path"`
	// FirstOf is several gjson paths: the first present and not null is
	// the value ("uid", "player.uid").
	FirstOf Names `yaml:"first_of"`
	// Const is a constant value: a string, number, boolean, or for the JSON
	// fields an object.
	Const any `yaml:"const"`
	// Template builds a string from several values: "${first} ${last}".
	// A missing value renders as nothing; the result is trimmed, and when
	// every value was missing the field is missing. "$$" is a literal "$".
	Template string `yaml:"template"`
	// TemplateJSON builds a JSON object or array for the JSON fields
	// (custom_data, ext_data, event_data): '{"seq": ${seq}, "note":
	// "by ${name}"}'. A ${path} outside quotes is the value as JSON (a
	// missing one null), inside quotes its text, escaped; when every value
	// is missing the field is missing.
	TemplateJSON string `yaml:"template_json"`
	// Meta reads the Kafka record rather than its value: "key", "topic",
	// "partition", "offset", "timestamp" (as RFC 3339 UTC) or
	// "header:NAME" (the first header NAME, as a string).
	Meta string `yaml:"meta"`
	// Expr computes the value: 'abs(value.stake - value.payout)'. A nil
	// result is a missing value.
	Expr string `yaml:"expr"`
	// Default is used, as is, when the source value is missing or null.
	Default any `yaml:"default"`

	// Map replaces a value by its text ("DEPOSIT_OK": "Successful
	// Deposit"). A value not in Map takes Fallback; without Fallback it
	// is kept when KeepUnmapped, and otherwise makes the record invalid.
	Map          map[string]any `yaml:"map"`
	Fallback     any            `yaml:"fallback"`
	KeepUnmapped bool           `yaml:"keep_unmapped"`

	// Extra sends a field outside the model's table (the guide's examples
	// send currency with deposits); without it such a target is a typo.
	Extra bool `yaml:"extra"`

	// TransformBefore names the transforms applied before Map (to trim or
	// lower-case what Map looks up), and Transform those applied after it,
	// in order; each one name or a list.
	TransformBefore Names `yaml:"transform_before"`
	Transform       Names `yaml:"transform"`

	// Parameters of minor_units: a fixed Exponent, or a fixed Currency, or
	// CurrencyPath (the record's currency code); Exponents adds or
	// overrides currency exponents ("BTC": 8).
	Exponent     *int           `yaml:"exponent"`
	Currency     string         `yaml:"currency"`
	CurrencyPath string         `yaml:"currency_path"`
	Exponents    map[string]int `yaml:"exponents"`

	// Parameters of time_layout: a Go reference layout and the time zone
	// of times without an offset, an IANA name or an offset such as
	// "+02:00" (default UTC); TimezonePath reads the zone from the record,
	// and Timezone is then the zone of records without one.
	Layout       string `yaml:"layout"`
	Timezone     string `yaml:"timezone"`
	TimezonePath string `yaml:"timezone_path"`

	Line int `yaml:"-"`
}

// FieldRules are a route's rules, in the order of the file.
type FieldRules []FieldRule

func (fr *FieldRules) decodeNode(d *decoder, n *yaml.Node, key string) {
	if n.Kind != yaml.MappingNode {
		d.p.Add(key, "want a mapping of Optikpi field to rule, got %s", describe(n))
		return
	}
	out := make(FieldRules, 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		ck := join(key, k.Value)
		r := FieldRule{Target: k.Value, Line: k.Line}
		d.p.lines[ck] = k.Line
		if val.Kind == yaml.AliasNode {
			val = val.Alias
		}
		switch {
		case isNull(val):
			d.p.Add(ck, "empty rule (want a path, or a mapping with path, const or template)")
			continue
		case val.Kind == yaml.ScalarNode:
			r.Path = val.Value // the shorthand: a plain string is a path
		default:
			d.structure(val, reflect.ValueOf(&r).Elem(), ck)
			r.Target, r.Line = k.Value, k.Line
		}
		out = append(out, r)
	}
	*fr = out
}

// Names is a list of names written as one name or a list.
type Names []string

func (ns *Names) decodeNode(d *decoder, n *yaml.Node, key string) {
	switch n.Kind {
	case yaml.ScalarNode:
		*ns = Names{n.Value}
	case yaml.SequenceNode:
		out := make(Names, 0, len(n.Content))
		for i, c := range n.Content {
			ck := fmt.Sprintf("%s[%d]", key, i)
			d.p.lines[ck] = c.Line
			if d.scalar(c, ck) {
				out = append(out, c.Value)
			}
		}
		*ns = out
	default:
		d.p.Add(key, "want a name or a list of names, got %s", describe(n))
	}
}

// TemplatePart is a literal or a path of a parsed template.
type TemplatePart struct {
	Literal string
	Path    string // when not ""
	// InString is true for a path inside a JSON string of a
	// template_json (ParseJSONTemplate).
	InString bool
}

// ParseJSONTemplate parses a template_json: a template whose text, with
// each path outside quotes as null and each inside as nothing, is a JSON
// object or array; paths inside quotes are marked InString.
func ParseJSONTemplate(s string) ([]TemplatePart, error) {
	parts, err := ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	var skeleton strings.Builder
	inString, escaped := false, false
	for i := range parts {
		p := &parts[i]
		if p.Path != "" {
			p.InString = inString
			if !inString {
				skeleton.WriteString("null")
			}
			escaped = false
			continue
		}
		skeleton.WriteString(p.Literal)
		for j := 0; j < len(p.Literal); j++ {
			switch c := p.Literal[j]; {
			case escaped:
				escaped = false
			case inString && c == '\\':
				escaped = true
			case c == '"':
				inString = !inString
			}
		}
	}
	sk := strings.TrimSpace(skeleton.String())
	var v any
	if err := json.Unmarshal([]byte(sk), &v); err != nil {
		return nil, fmt.Errorf("not JSON with each ${path} outside quotes read as null: %s: %v", sk, err)
	}
	if !strings.HasPrefix(sk, "{") && !strings.HasPrefix(sk, "[") {
		return nil, errors.New("want a JSON object or array")
	}
	return parts, nil
}

// ParseTemplate parses "text ${path} text": "${" opens a gjson path closed
// by "}", "$$" is a literal "$".
func ParseTemplate(s string) ([]TemplatePart, error) {
	var parts []TemplatePart
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '$':
			lit.WriteByte('$')
			i++
		case i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed ${ at offset %d", i)
			}
			path := strings.TrimSpace(s[i+2 : i+2+end])
			if path == "" {
				return nil, fmt.Errorf("empty ${} at offset %d", i)
			}
			if lit.Len() > 0 {
				parts = append(parts, TemplatePart{Literal: lit.String()})
				lit.Reset()
			}
			parts = append(parts, TemplatePart{Path: path})
			i += 2 + end
		default:
			return nil, fmt.Errorf("lone $ at offset %d (write $$ for a dollar sign)", i)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, TemplatePart{Literal: lit.String()})
	}
	return parts, nil
}

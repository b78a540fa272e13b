package config

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Problem is one thing wrong with a configuration file.
type Problem struct {
	Source string // file name
	Line   int    // 1-based, 0 when unknown
	Key    string // key path, such as "sink.linger" or "routing.routes[2].model"
	Msg    string
}

func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Source)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Is makes errors.Is(p, ErrInvalid) true.
func (p *Problem) Is(target error) bool { return target == ErrInvalid }

// Problems collects every Problem of one file: Parse's, and those a later
// stage finds in a parsed Config (Config.Problems), so that each is
// reported at its key and line in one form.
type Problems struct {
	source string
	lines  map[string]int // key path -> line of its value
	list   []*Problem
}

// Add records a problem at key, on the line of key or of its nearest
// ancestor present in the file (a missing key is reported on its parent).
func (p *Problems) Add(key, format string, args ...any) {
	p.list = append(p.list, &Problem{Source: p.source, Line: p.line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// reported reports whether a problem was added at key: a value that did
// not decode need not be judged again.
func (p *Problems) reported(key string) bool {
	return slices.ContainsFunc(p.list, func(e *Problem) bool { return e.Key == key })
}

func (p *Problems) line(key string) int {
	for k := key; k != ""; k = parentKey(k) {
		if l, ok := p.lines[k]; ok {
			return l
		}
	}
	return 0
}

func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// Err returns every problem recorded, sorted by line, each a *Problem
// matching ErrInvalid, joined with errors.Join; nil when there is none.
func (p *Problems) Err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.SortStableFunc(p.list, func(a, b *Problem) int { return cmp.Compare(a.Line, b.Line) })
	errs := make([]error, len(p.list))
	for i, e := range p.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// nodeDecoder is implemented by types with a YAML shape of their own (a
// scalar shorthand, a mapping whose order matters).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, key string)
}

// decoder walks a yaml.Node tree into Go values by their yaml tags,
// reporting every unknown key and bad value with its key path and line,
// rather than stopping at the first as yaml.Decoder does.
type decoder struct {
	p *Problems
	// keys holds fieldIndexes of each struct type met: a file names the
	// same few types' keys hundreds of times, and reading their tags each
	// time was most of decoding's CPU.
	keys map[reflect.Type]map[string][]int
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	lineField    = "Line"
)

// decodeFile substitutes environment variables (env.go), decodes data over
// cfg and returns the lines of its keys; nil when data is not YAML at all or
// a variable is missing.
func decodeFile(data []byte, cfg *Config, p *Problems) map[string]int {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.list = append(p.list, &Problem{Source: p.source, Msg: strings.TrimPrefix(err.Error(), "yaml: ")})
		return nil
	}
	p.lines = map[string]int{}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		p.Add("", "the file is empty")
		return nil
	}
	substituteEnv(&doc, "", p)
	missing := len(p.list) > 0
	d := &decoder{p: p}
	d.decode(doc.Content[0], reflect.ValueOf(cfg).Elem(), "")
	if missing {
		// A missing variable leaves its key empty: validating would only
		// add "required" beside the real problem.
		return nil
	}
	return p.lines
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := d.p.lines[key]; !ok && key != "" {
		d.p.lines[key] = n.Line
	}
	if isNull(n) {
		return // an empty value keeps the default
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, key)
			return
		}
	}
	switch {
	case v.Type() == durationType:
		if !d.scalar(n, key) {
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.p.Add(key, "invalid duration %q (want a Go duration such as 200ms, 5s, 1m)", n.Value)
			return
		}
		v.SetInt(int64(dur))
	case v.Kind() == reflect.Struct:
		d.structure(n, v, key)
	case v.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.p.Add(key, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
	case v.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.p.Add(key, "want a mapping, got %s", describe(n))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			ck := join(key, k.Value)
			d.p.lines[ck] = k.Line
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, ck)
			v.SetMapIndex(reflect.ValueOf(k.Value), ev)
		}
	case v.Kind() == reflect.Pointer:
		pv := reflect.New(v.Type().Elem())
		d.decode(n, pv.Elem(), key)
		v.Set(pv)
	case v.Kind() == reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.p.Add(key, "%v", yamlMsg(err))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		if !d.scalar(n, key) {
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.p.Add(key, "want %s, got %q", typeName(v.Type()), n.Value)
		}
	}
}

// structure decodes a mapping into a struct, field by yaml tag.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind != yaml.MappingNode {
		d.p.Add(key, "want a mapping, got %s", describe(n))
		return
	}
	if f := v.FieldByName(lineField); f.IsValid() && f.Kind() == reflect.Int {
		f.SetInt(int64(n.Line))
	}
	t := v.Type()
	// Merged mappings (<<: *anchor) first, so that the keys written here
	// override them, as YAML says.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, key)
		}
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			continue
		}
		ck := join(key, k.Value)
		if k.Value == "" {
			ck = join(key, `""`) // named, so that its problem has a key and a line
		}
		d.p.lines[ck] = k.Line // a mapping value starts on the line after its key
		if seen[k.Value] {
			d.p.Add(ck, "duplicate key")
			continue
		}
		seen[k.Value] = true
		idx := d.fieldIndex(t, k.Value)
		if idx == nil {
			d.p.Add(ck, "%s", unknownKeyMsg(t, k.Value))
			continue
		}
		d.decode(val, v.FieldByIndex(idx), ck)
	}
}

// merge decodes the mapping (or list of mappings) of a merge key into v.
func (d *decoder) merge(n *yaml.Node, v reflect.Value, key string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.structure(n, v, key)
	case yaml.SequenceNode:
		for i := len(n.Content) - 1; i >= 0; i-- { // earlier mappings win
			d.merge(n.Content[i], v, key)
		}
	default:
		d.p.Add(key, "<< wants a mapping to merge, got %s", describe(n))
	}
}

// unknownKeyMsg explains an unknown key, and why a secret has no key.
func unknownKeyMsg(t reflect.Type, name string) string {
	switch name {
	case "token", "password", "auth_token", "secret":
		return "unknown key: secrets never live in the configuration file; use " + name + "_env or " + name + "_file where offered"
	}
	return fmt.Sprintf("unknown key (known: %s)", strings.Join(keyNames(t), ", "))
}

// keyNames lists the keys of struct type t, those of inline fields in
// their place.
func keyNames(t reflect.Type) []string {
	var known []string
	for i := range t.NumField() {
		f := t.Field(i)
		if inline(f) {
			known = append(known, keyNames(f.Type)...)
		} else if tag := yamlName(f); tag != "" {
			known = append(known, tag)
		}
	}
	return known
}

// fieldIndex returns the index path of the field of t keyed name, looking
// into inline fields; nil when there is none.
func (d *decoder) fieldIndex(t reflect.Type, name string) []int {
	keys, ok := d.keys[t]
	if !ok {
		keys = fieldIndexes(t)
		if d.keys == nil {
			d.keys = map[reflect.Type]map[string][]int{}
		}
		d.keys[t] = keys
	}
	return keys[name]
}

// fieldIndexes maps each key of struct type t to the index path of its
// field, those of inline fields in their place; of fields with the same
// key, the first. A field without a key (untagged, "-" or unexported) is
// not in it: a key "" in the file is unknown.
func fieldIndexes(t reflect.Type) map[string][]int {
	keys := map[string][]int{}
	var walk func(t reflect.Type, path []int)
	walk = func(t reflect.Type, path []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			p := append(path[:len(path):len(path)], i)
			if inline(f) {
				walk(f.Type, p)
			} else if name := yamlName(f); name != "" && keys[name] == nil {
				// "" is no key: an untagged field is not to be set by `"": x`.
				keys[name] = p
			}
		}
	}
	walk(t, nil)
	return keys
}

func inline(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return opts == "inline" && f.Type.Kind() == reflect.Struct
}

func yamlName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" || !f.IsExported() {
		return ""
	}
	return tag
}

// scalar reports whether n is a scalar, reporting a problem otherwise.
func (d *decoder) scalar(n *yaml.Node, key string) bool {
	if n.Kind != yaml.ScalarNode {
		d.p.Add(key, "want a single value, got %s", describe(n))
		return false
	}
	return true
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

func yamlMsg(err error) string {
	return strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  "), "yaml: ")
}

func join(key, name string) string {
	if key == "" {
		return name
	}
	return key + "." + name
}

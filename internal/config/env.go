package config

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// envExempt is the top-level section whose values are never substituted:
// routing is the mapping language, where a template's ${path} names a
// record's field, not an environment variable.
const envExempt = "routing"

// splitLists are the lists where an item that is one whole ${VAR} expands
// to one item per comma-separated part, as KAFKA_BROKERS=a:9092,b:9092 is
// usually written. Only lists whose items cannot contain a comma: a topic
// regular expression can, so topics are not split.
var splitLists = map[string]bool{"kafka.brokers": true}

// substituteEnv replaces ${VAR} and ${VAR:-default} in the scalar values of
// the tree under n with the environment's values, in place, and $$ with $.
// It works on parsed nodes, so a value can never add YAML structure and
// every line number stays that of the file. An unset variable without a
// default is a problem at the value's key; its node becomes null so that
// decoding reports nothing more about it.
func substituteEnv(n *yaml.Node, key string, p *Problems) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			substituteEnv(c, key, p)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if key == "" && k.Value == envExempt {
				continue
			}
			substituteEnv(n.Content[i+1], join(key, k.Value), p)
		}
	case yaml.SequenceNode:
		var out []*yaml.Node
		for i, c := range n.Content {
			// Whether to split is decided on the reference, before it is
			// substituted.
			split := splitLists[key] && c.Kind == yaml.ScalarNode && wholeRef(c.Value)
			substituteEnv(c, fmt.Sprintf("%s[%d]", key, i), p)
			if split {
				out = append(out, splitItem(c)...)
			} else {
				out = append(out, c)
			}
		}
		n.Content = out
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		v, err := expand(n.Value, os.LookupEnv)
		if err != nil {
			p.list = append(p.list, &Problem{Source: p.source, Line: n.Line, Key: key, Msg: err.Error()})
			n.Value, n.Tag, n.Style = "", "!!null", 0
			return
		}
		n.Value = v
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			// Unquoted: resolve the substituted text as if it were written
			// there, so that ${PORT} can fill an integer.
			n.Tag = ""
		}
	}
	// Aliases are skipped: their anchor is substituted where it is defined.
}

// wholeRef reports whether s is exactly one ${...} reference.
func wholeRef(s string) bool {
	return strings.HasPrefix(s, "${") && strings.Index(s, "}") == len(s)-1
}

// splitItem turns an already substituted scalar into one node per
// comma-separated, non-empty part, each on the line of the original.
func splitItem(n *yaml.Node) []*yaml.Node {
	if n.Tag == "!!null" || !strings.Contains(n.Value, ",") {
		return []*yaml.Node{n}
	}
	var out []*yaml.Node
	for part := range strings.SplitSeq(n.Value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			c := *n
			c.Value, c.Tag = part, "!!str"
			out = append(out, &c)
		}
	}
	return out
}

// expand substitutes the references in s, looked up with lookup. A $ not
// followed by { or $ stays as written, so gjson-like text needs no escape.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
			continue
		case '{':
		default:
			b.WriteByte('$')
			s = s[i+1:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated %q (want ${VAR} or ${VAR:-default}; write $$ for a literal $)", s[i:])
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("${%s}: %q is not a variable name (letters, digits and _, not starting with a digit; write $$ for a literal $)", ref, name)
		}
		v, ok := lookup(name)
		switch {
		case hasDef && v == "":
			// As in the shell: unset or empty takes the default.
			v = def
		case !ok:
			return "", fmt.Errorf("environment variable %s is not set (give a default with ${%s:-value})", name, name)
		}
		b.WriteString(v)
	}
}

func validEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

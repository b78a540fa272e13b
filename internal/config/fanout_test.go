package config

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// fanout is a fan-out route, put before minimal's deposits route by
// withFanout: a signup becomes a customer profile and an account event.
var fanout = readTestdata("fanout-route.yaml")

// withFanout returns minimal with route first among its routes.
func withFanout(route string) string {
	return strings.Replace(minimal, "  routes:\n", "  routes:\n"+route, 1)
}

// withRouting returns minimal with its routing section replaced by routing.
func withRouting(routing string) string {
	head, _, _ := strings.Cut(minimal, "\nrouting:\n")
	return head + "\n" + strings.TrimPrefix(routing, "\n")
}

func TestParseOutputs(t *testing.T) {
	c, err := Parse([]byte(withFanout(fanout)), "f.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	signup, deposits := &c.Routing.Routes[0], &c.Routing.Routes[1]
	outs := signup.Emits()
	checks := []struct {
		name      string
		got, want any
	}{
		{"signup outputs", len(outs), 2},
		{"outputs[0].name", outs[0].Name, "profile"},
		{"outputs[0].model", outs[0].Model, "customer"},
		{"outputs[0].destination (the only one)", outs[0].Destination, "main"},
		{"outputs[0].line", outs[0].Line, 20},
		{"outputs[0].fields", len(outs[0].Fields), 2},
		{"outputs[1].name", outs[1].Name, "registration"},
		{"outputs[1].when", outs[1].When != nil && outs[1].When.Path == "channel", true},
		{"outputs[1].fields[1].target", outs[1].Fields[1].Target, "event_name"},
		{"outputs[1].line", outs[1].Line, 25},
		{"deposits emits", len(deposits.Emits()), 1},
		{"deposits output name", deposits.Emits()[0].Name, ""},
		{"deposits output model", deposits.Emits()[0].Model, "deposit"},
		{"deposits output destination", deposits.Emits()[0].Destination, "main"},
		{"deposits output fields", len(deposits.Emits()[0].Fields), 4},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestParseOutputProblems(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // an edit of fanout
		wants    []string
	}{
		{"model beside outputs", "      outputs:\n", "      model: customer\n      outputs:\n",
			[]string{"f.yaml:20: routing.routes[0].outputs: a route gives either model, destination and fields, or outputs; not both"}},
		{"no outputs", "      outputs:\n        - name: profile", "      outputs: []\n      xoutputs:\n        - name: profile",
			[]string{"f.yaml:19: routing.routes[0].outputs: want at least one output"}},
		{"output without name", "        - name: registration\n          when:", "        - when:",
			[]string{"f.yaml:25: routing.routes[0].outputs[1].name: required"}},
		{"duplicate output", "name: registration", "name: profile",
			[]string{`f.yaml:25: routing.routes[0].outputs[1].name: duplicate output "profile"`}},
		{"bad output name", "name: registration", "name: 'reg istration'",
			[]string{`routing.routes[0].outputs[1].name: want letters, digits, '.', '_' or '-', got "reg istration"`}},
		{"unknown output key", "          model: account\n", "          modle: account\n",
			[]string{"f.yaml:27: routing.routes[0].outputs[1].modle: unknown key (known: name, when, model, destination, fields)"}},
		{"bad output when", "when: {path: channel, exists: true}", "when: {path: channel}",
			[]string{`f.yaml:26: routing.routes[0].outputs[1].when: want exactly one of equals, in, exists, matches with path "channel"`}},
		{"unknown output destination", "          model: account\n", "          model: account\n          destination: other\n",
			[]string{`routing.routes[0].outputs[1].destination: no destination named "other"`}},
		{"skip with outputs", "      outputs:\n", "      skip: true\n      outputs:\n",
			[]string{"routing.routes[0].skip: a skip route has no model, fields or outputs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(fanout, tt.old) {
				t.Fatalf("fanout has no %q", tt.old)
			}
			_, err := Parse([]byte(withFanout(strings.Replace(fanout, tt.old, tt.new, 1))), "f.yaml")
			if err == nil {
				t.Fatalf("got no error, want %q", tt.wants)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestParseUnreachableRoutes(t *testing.T) {
	const head = "routing:\n  routes:\n"
	route := func(name, topic, when string) string {
		s := "    - name: " + name + "\n      topic: " + topic + "\n"
		if when != "" {
			s += "      when: " + when + "\n"
		}
		return s + "      skip: true\n"
	}
	tests := []struct {
		name   string
		routes []string
		want   string // "" for no error
	}{
		{"after an unconditional route",
			[]string{route("all", "payments", ""), route("deposits", "payments", "{path: type, equals: deposit}")},
			`f.yaml:19: routing.routes[1]: route "deposits" is unreachable: route "all" (line 16) comes first, has no when and so takes every record of topic "payments"`},
		{"after the same when",
			[]string{route("a", "payments", "{path: type, in: [x, y]}"), route("b", "payments", "{path: type,  in: [x, y]}")},
			`f.yaml:22: routing.routes[1].when: route "b" is unreachable: route "a" (line 16) comes first with the same when and so takes every record this one would`},
		{"same nested when",
			[]string{route("a", "payments", "{all: [{path: a, exists: true}, {not: {path: b, equals: 1}}]}"), route("c", "payments", "{path: c, exists: true}"),
				route("b", "payments", "{all: [{path: a, exists: true}, {not: {path: b, equals: 1}}]}")},
			`routing.routes[2].when: route "b" is unreachable: route "a" (line 16)`},
		{"two unconditional routes",
			[]string{route("first", "payments", ""), route("second", "payments", "")},
			`routing.routes[1]: route "second" is unreachable: route "first" (line 16) comes first, has no when`},
		{"another topic", []string{route("all", "refunds", ""), route("deposits", "payments", "")}, ""},
		{"different whens", []string{route("a", "payments", "{path: type, equals: x}"), route("b", "payments", "{path: type, equals: y}"), route("rest", "payments", "")}, ""},
		{"same path other test", []string{route("a", "payments", "{path: type, equals: x}"), route("b", "payments", "{path: type, matches: x}")}, ""},
		{"other header", []string{route("a", "payments", "{meta: \"header:ce_type\", equals: x}"), route("b", "payments", "{meta: \"header:ce_source\", equals: x}")}, ""},
		{"key, not a header", []string{route("a", "payments", "{meta: key, equals: x}"), route("b", "payments", "{meta: \"header:key\", equals: x}")}, ""},
		{"other expr", []string{route("a", "payments", "{expr: \"value.amount > 0\"}"), route("b", "payments", "{expr: \"value.amount < 0\"}")}, ""},
		{"nested other expr", []string{route("a", "payments", "{not: {expr: \"value.amount > 0\"}}"), route("b", "payments", "{not: {expr: \"value.amount < 0\"}}")}, ""},
		{"same header", []string{route("a", "payments", "{meta: \"header:ce_type\", equals: x}"), route("b", "payments", "{meta: \"header:ce_type\", equals: x}")},
			`route "b" is unreachable`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(withRouting(head+strings.Join(tt.routes, "")), "topics: [payments]", "topics: [payments, refunds]", 1)
			_, err := Parse([]byte(src), "f.yaml")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got error:\n%v\nwant none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got error:\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// TestPlainlyDiffer checks sameCondition's shortcut against what it
// saves: conditions it says differ must have different YAML forms.
func TestPlainlyDiffer(t *testing.T) {
	srcs := []string{
		"{path: type, equals: x}", "{path: type, equals: y}", "{path: type, equals: 1}", `{path: type, equals: "1"}`,
		"{path: type, equals: 1.0}", "{path: type, equals: true}", "{path: type, equals: null}", "{path: type, equals: [x]}",
		"{path: type, in: [x, y]}", "{path: type, in: [x]}", "{path: type, in: []}", "{path: type, exists: true}",
		"{path: type, exists: false}", "{path: kind, exists: true}", "{path: type, matches: x}", "{meta: key, equals: x}",
		`{meta: "header:x", equals: x}`, "{expr: 'value.a > 0'}", "{not: {path: type, exists: true}}",
		"{all: [{path: a, exists: true}]}", "{any: [{path: a, exists: true}]}", "{all: []}", "{}",
	}
	conds := make([]Condition, len(srcs))
	for i, s := range srcs {
		if err := yaml.Unmarshal([]byte(s), &conds[i]); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for i := range conds {
		for j := range conds {
			a, b := &conds[i], &conds[j]
			ya, _ := yaml.Marshal(a)
			yb, _ := yaml.Marshal(b)
			if plainlyDiffer(a, b) && string(ya) == string(yb) {
				t.Errorf("plainlyDiffer(%s, %s) = true, want false: both are\n%s", srcs[i], srcs[j], ya)
			}
			if got, want := sameCondition(a, b), string(ya) == string(yb); got != want {
				t.Errorf("sameCondition(%s, %s) = %v, want %v", srcs[i], srcs[j], got, want)
			}
		}
	}
}

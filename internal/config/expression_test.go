package config

import (
	"strings"
	"testing"
)

// The expression and key/header keys of conditions and field rules: each
// problem is reported with its file, line and key.
func TestParseExpressionProblems(t *testing.T) {
	const route = "      model: deposit\n"
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"when: unknown variable", route, route + "      when: {expr: 'vaule.amount > 0'}\n",
			"test.yaml:19: routing.routes[0].when.expr: unknown name vaule (column 1 of the expression)"},
		{"when: not a boolean", route, route + "      when: {expr: 'key'}\n",
			"test.yaml:19: routing.routes[0].when.expr: expected bool, but got string"},
		{"when: unknown function", route, route + "      when: {expr: 'now() > timestamp'}\n",
			"test.yaml:19: routing.routes[0].when.expr: unknown name now"},
		{"when: expr beside a path", route, route + "      when: {expr: 'true', path: a}\n",
			"test.yaml:19: routing.routes[0].when: expr is a test of its own"},
		{"when: nested type error", route, route + "      when:\n        any:\n          - {meta: key, equals: a}\n          - expr: 'headers.x + 1 > 0'\n",
			"test.yaml:22: routing.routes[0].when.any[1].expr: invalid operation: + (mismatched types string and int)"},
		{"when: unknown meta", route, route + "      when: {meta: topic, equals: payments}\n",
			`test.yaml:19: routing.routes[0].when.meta: want key or header:NAME, got "topic"`},
		{"when: empty header name", route, route + "      when: {meta: 'header:', exists: true}\n",
			`routing.routes[0].when.meta: want key or header:NAME, got "header:"`},
		{"when: number for a key", route, route + "      when: {meta: key, equals: 42}\n",
			`test.yaml:19: routing.routes[0].when.equals: a key or header is text: quote the value ("42")`},
		{"when: number in a header list", route, route + "      when: {meta: 'header:v', in: [a, 2]}\n",
			`routing.routes[0].when.in[1]: a key or header is text`},
		{"when: meta and path", route, route + "      when: {meta: key, path: a, exists: true}\n",
			"routing.routes[0].when: want a path or a meta, not both"},
		{"when: meta without a test", route, route + "      when: {meta: 'header:ce_type'}\n",
			`routing.routes[0].when: want exactly one of equals, in, exists, matches with meta "header:ce_type"`},
		{"field: syntax error", "amount: amount", "amount: {expr: 'abs(value.stake - value.payout'}",
			"test.yaml:23: routing.routes[0].fields.amount.expr: unexpected token EOF"},
		{"field: unknown function", "amount: amount", "amount: {expr: 'coalesce(value.a, 0)'}",
			"test.yaml:23: routing.routes[0].fields.amount.expr: unknown name coalesce"},
		{"field: wrong argument type", "amount: amount", "amount: {expr: 'sign(key)'}",
			"test.yaml:23: routing.routes[0].fields.amount.expr: cannot use string as argument (type float64) to call sign (column 6 of the expression)"},
		{"field: expr and path", "amount: amount", "amount: {path: a, expr: 'value.a'}",
			"test.yaml:23: routing.routes[0].fields.amount: want exactly one of path, first_of, const, template, template_json, meta and expr"},
		{"field: unknown time zone", "event_time: {path: ts, transform: unix_millis}", `event_time: {expr: 'parse_time("2006-01-02", value.d, "Mars/Base")'}`,
			`test.yaml:22: routing.routes[0].fields.event_time.expr: parse_time: unknown time zone "Mars/Base"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(edit(t, tt.old, tt.new)), "test.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error:\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseExpressions(t *testing.T) {
	src := edit(t, "      model: deposit\n", `      model: deposit
      when:
        all:
          - {meta: 'header:ce_type', in: [payment.deposit, payment.topup]}
          - {meta: key, matches: '^player-'}
          - expr: 'value.amount > 0 && partition >= 0'
`)
	src = strings.Replace(src, "amount: amount", "amount: {expr: 'abs(value.stake - value.payout)'}", 1)
	c, err := Parse([]byte(src), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r := c.Routing.Routes[0]
	if got := r.When.All[0].Meta; got != "header:ce_type" {
		t.Errorf("when.all[0].meta: got %q, want header:ce_type", got)
	}
	if got := r.When.All[2].Expr; got != "value.amount > 0 && partition >= 0" {
		t.Errorf("when.all[2].expr: got %q", got)
	}
	if got := r.Fields[3].Expr; got != "abs(value.stake - value.payout)" {
		t.Errorf("fields.amount.expr: got %q", got)
	}
}

package config

import (
	"strings"
	"testing"
)

// The expression and key/header keys of conditions: each problem is
// reported with its file, line and key. The expressions themselves are
// the mapper's compile's to check (mapper's TestNewExpressionProblems).
func TestParseExpressionProblems(t *testing.T) {
	const route = "      model: deposit\n"
	tests := []struct {
		name     string
		old, new string
		want     string
	}{
		{"when: expr beside a path", route, route + "      when: {expr: 'true', path: a}\n",
			"test.yaml:19: routing.routes[0].when: expr is a test of its own"},
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

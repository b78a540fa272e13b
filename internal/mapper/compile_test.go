package mapper

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/config"
)

// The problems New finds in a file config.Parse accepts, each at its file,
// line and key: what needs the API's models.

// minimal is config's least configuration.
var minimal = readFile("../config/testdata/minimal.yaml")

// readFile returns the content of the file at path.
func readFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// edit returns minimal with old replaced by new, failing if old is absent.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(minimal, old) {
		t.Fatalf("minimal config has no %q", old)
	}
	return strings.Replace(minimal, old, new, 1)
}

// compileFile parses src as source and compiles it.
func compileFile(t *testing.T, src, source string) error {
	t.Helper()
	cfg, err := config.Parse([]byte(src), source)
	if err != nil {
		t.Fatalf("config.Parse: %v", err)
	}
	_, err = New(cfg)
	return err
}

// wantProblems checks that err matches config.ErrInvalid and contains
// each of wants.
func wantProblems(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", wants)
	}
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("errors.Is(err, config.ErrInvalid) = false for %v", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got error:\n%v\nwant it to contain %q", err, w)
		}
	}
}

func TestNewProblems(t *testing.T) {
	tests := []struct {
		name  string
		old   string
		new   string
		wants []string // each must appear in the error
	}{
		{"bad rate limit model", "dlq:\n", "sink:\n  rate_limits:\n    deposits: 10\ndlq:\n", []string{"sink.rate_limits.deposits: unknown model"}},
		{"unknown model", "model: deposit", "model: deposits", []string{`routing.routes[0].model: want one of customer, account,`}},
		{"unknown field", "        amount: amount\n", "        amount: amount\n        amout: x\n", []string{`test.yaml:24: routing.routes[0].fields.amout: model deposit has no field "amout" (set extra: true`}},
		{"automatic field", "        amount: amount\n", "        amount: amount\n        account_id: acc\n", []string{"routing.routes[0].fields.account_id: filled by the relay"}},
		{"missing required rule", "        amount: amount\n", "", []string{"test.yaml:19: routing.routes[0].fields: no rule for amount (the guide requires it)"}},
		{"two sources", "amount: amount", "amount: {path: a, const: 1}", []string{"routing.routes[0].fields.amount: want exactly one of path, first_of, const, template, template_json, meta and expr"}},
		{"first_of and path", "amount: amount", "amount: {path: a, first_of: [b, c]}", []string{"test.yaml:23: routing.routes[0].fields.amount: want exactly one of path, first_of, const, template, template_json, meta and expr"}},
		{"first_of one path", "amount: amount", "amount: {first_of: a}", []string{"test.yaml:23: routing.routes[0].fields.amount.first_of: want two paths or more (a single path is path)"}},
		{"first_of empty path", "amount: amount", "amount: {first_of: [a, '']}", []string{"test.yaml:23: routing.routes[0].fields.amount.first_of[1]: empty path"}},
		{"transform_before without map", "amount: amount", "amount: {path: a, transform_before: trim}", []string{"test.yaml:23: routing.routes[0].fields.amount.transform_before: transform_before runs before map, and there is no map: use transform"}},
		{"unknown transform_before", "amount: amount", "amount: {path: a, map: {x: 1}, transform_before: [trim, epoch]}", []string{`test.yaml:23: routing.routes[0].fields.amount.transform_before[1]: unknown transform "epoch"`}},
		{"unknown transform", "transform: unix_millis", "transform: epoch", []string{`routing.routes[0].fields.event_time.transform[0]: unknown transform "epoch"`}},
		{"minor units without currency", "amount: amount", "amount: {path: a, transform: minor_units}", []string{"minor_units needs exactly one of exponent, currency and currency_path"}},
		{"unknown currency", "amount: amount", "amount: {path: a, transform: minor_units, currency: XBT}", []string{`fields.amount.currency: no known exponent for "XBT"`}},
		{"param without transform", "amount: amount", "amount: {path: a, exponent: 2}", []string{"are parameters of the minor_units transform"}},
		{"layout required", "transform: unix_millis", "transform: time_layout", []string{"fields.event_time.layout: required by time_layout"}},
		{"bad timezone", "transform: unix_millis", "transform: time_layout, layout: '2006', timezone: Mars/Base", []string{`fields.event_time.timezone: unknown time zone "Mars/Base"`}},
		{"layout not Go's", "transform: unix_millis", `transform: time_layout, layout: "YYYY-MM-DD hh:mm:ss"`, []string{`test.yaml:22: routing.routes[0].fields.event_time.layout: layout "YYYY-MM-DD hh:mm:ss" has no Go reference-time elements`, `(did you mean "2006-01-02 15:04:05"?)`}},
		{"layout half Go's", "transform: unix_millis", `transform: time_layout, layout: "2006-MM-DD"`, []string{`test.yaml:22: routing.routes[0].fields.event_time.layout: layout "2006-MM-DD" has "MM", which a Go layout reads as literal text`, `(did you mean "2006-01-02"?)`}},
		{"layout without year", "transform: unix_millis", `transform: time_layout, layout: "02/01 15:04"`, []string{`fields.event_time.layout: layout "02/01 15:04" has no year`}},
		{"layout in timezone", "transform: unix_millis", `transform: time_layout, layout: "2006-01-02 3:04", timezone: "+02:00"`, []string{`is written "2031-11-23 9:47" and read as 2031-11-23 09:47:00 +02:00 (a 12-hour 3 or 03 needs PM)`}},
		{"timezone_path without time_layout", "transform: unix_millis", "transform: unix_millis, timezone_path: tz", []string{"test.yaml:22: routing.routes[0].fields.event_time: layout, timezone and timezone_path are parameters of the time_layout transform"}},
		{"bad template_json", "event_name: {const: Successful Deposit}", `event_name: {template_json: '{"a": ${a}'}`, []string{`test.yaml:21: routing.routes[0].fields.event_name.template_json: not JSON with each ${path} outside quotes read as null: {"a": null: unexpected end of JSON input`}},
		{"template_json scalar", "event_name: {const: Successful Deposit}", `event_name: {template_json: '"${a}"'}`, []string{`test.yaml:21: routing.routes[0].fields.event_name.template_json: want a JSON object or array`}},
		{"bad template", "event_name: {const: Successful Deposit}", "event_name: {template: 'x ${a'}", []string{"fields.event_name.template: unclosed ${"}},
		{"fallback without map", "event_name: {const: Successful Deposit}", "event_name: {path: s, fallback: x}", []string{"fallback and keep_unmapped go with map"}},
		{"strict required rule", "dlq:\n", "sink:\n  strict: true\ndlq:\n", []string{"test.yaml:21: routing.routes[0].fields: no rule for payment_method (sink.strict is on and the SDKs require it)"}},
		{"duplicate field", "        amount: amount\n", "        amount: amount\n        amount: b\n", []string{"test.yaml:24: routing.routes[0].fields.amount: duplicate field"}},
		{"known field as extra", "amount: amount", "amount: {path: a, extra: true}", []string{`test.yaml:23: routing.routes[0].fields.amount.extra: "amount" is a field of model deposit, not an extra one`}},
		{"not a value", "event_name: {const: Successful Deposit}", "event_name: {const: .nan}", []string{"test.yaml:21: routing.routes[0].fields.event_name.const: NaN is not a JSON number"}},
		{"unknown meta", "amount: amount", "amount: {meta: size}", []string{`test.yaml:23: routing.routes[0].fields.amount.meta: want key, topic, partition, offset, timestamp or header:NAME, got "size"`}},
		{"minor units twice", "amount: amount", "amount: {path: a, transform_before: minor_units, map: {x: 1}, transform: minor_units}", []string{"minor_units needs exactly one"}},
		// Constants the API refuses would fail every record they are used for.
		{"const of the wrong type", "amount: amount", "amount: {const: ten}", []string{`test.yaml:23: routing.routes[0].fields.amount.const: "ten": must be a number, for every record it is used for`}},
		{"default of the wrong type", "amount: amount", "amount: {path: a, default: true}", []string{`test.yaml:23: routing.routes[0].fields.amount.default: true: must be a number`}},
		{"map value of the wrong type", "event_name: {const: Successful Deposit}", "event_name: {path: s, map: {a: 5, b: x}}", []string{`routing.routes[0].fields.event_name.map.a: 5: must be a string`}},
		{"fallback of the wrong type", "event_name: {const: Successful Deposit}", "event_name: {path: s, map: {a: x}, fallback: 5}", []string{`routing.routes[0].fields.event_name.fallback: 5: must be a string`}},
		{"empty required const", "event_name: {const: Successful Deposit}", "event_name: {const: ''}", []string{`routing.routes[0].fields.event_name.const: "": `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantProblems(t, compileFile(t, edit(t, tt.old, tt.new), "test.yaml"), tt.wants...)
		})
	}
}

func TestNewExpressionProblems(t *testing.T) {
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
		{"when: nested type error", route, route + "      when:\n        any:\n          - {meta: key, equals: a}\n          - expr: 'headers.x + 1 > 0'\n",
			"test.yaml:22: routing.routes[0].when.any[1].expr: invalid operation: + (mismatched types string and int)"},
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
			wantProblems(t, compileFile(t, edit(t, tt.old, tt.new), "test.yaml"), tt.want)
		})
	}
}

// fanout is config's fan-out route, put first among minimal's routes.
var fanout = readFile("../config/testdata/fanout-route.yaml")

func TestNewOutputProblems(t *testing.T) {
	tests := []struct {
		name     string
		old, new string // an edit of fanout
		wants    []string
	}{
		{"unknown output field", "            event_name: {const: Player Registration}\n", "            event_name: {const: Player Registration}\n            amout: x\n",
			[]string{`f.yaml:31: routing.routes[0].outputs[1].fields.amout: model account has no field "amout"`}},
		{"output missing rule", "            event_time: {path: ts, transform: unix_millis}\n", "",
			[]string{"f.yaml:28: routing.routes[0].outputs[1].fields: no rule for event_time (the guide requires it)"}},
		{"unknown output model", "          model: account\n", "          model: acount\n",
			[]string{`f.yaml:27: routing.routes[0].outputs[1].model: want one of customer`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(fanout, tt.old) {
				t.Fatalf("fanout has no %q", tt.old)
			}
			src := strings.Replace(minimal, "  routes:\n", "  routes:\n"+strings.Replace(fanout, tt.old, tt.new, 1), 1)
			wantProblems(t, compileFile(t, src, "f.yaml"), tt.wants...)
		})
	}
}

// New lists every problem, in the order of the file, as Parse does.
func TestNewListsEveryProblem(t *testing.T) {
	src := strings.Replace(minimal, "dlq:\n", "sink:\n  rate_limits: {deposits: 10}\ndlq:\n", 1)
	src = strings.Replace(src, "transform: unix_millis", "transform: epoch", 1)
	src = strings.Replace(src, "        amount: amount\n", "        amout: amount\n", 1)
	err := compileFile(t, src, "c.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"c.yaml:13: sink.rate_limits.deposits: unknown model",
		"c.yaml:21: routing.routes[0].fields: no rule for amount",
		`c.yaml:24: routing.routes[0].fields.event_time.transform[0]: unknown transform "epoch"`,
		`c.yaml:25: routing.routes[0].fields.amout: model deposit has no field "amout"`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d problems:\n%v\nwant %d", len(lines), err, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d: got %q, want prefix %q", i, lines[i], w)
		}
	}
}

// A condition's bad regular expression has config.Parse's message when a
// configuration reaches New without Parse: the check has one message.
func TestNewBadMatchesMessage(t *testing.T) {
	cfg, err := config.Parse([]byte(edit(t, "      model: deposit\n", "      when: {path: type, matches: x}\n      model: deposit\n")), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routing.Routes[0].When.Matches = "("
	_, err = New(cfg)
	wantProblems(t, err, "routing.routes[0].when.matches: invalid regular expression: error parsing regexp: missing closing )")
}

// TestConstantsThroughTransforms: a constant that a transform or a map
// changes before it is sent is not judged as it is written.
func TestConstantsThroughTransforms(t *testing.T) {
	for _, rule := range []string{
		"amount: {const: '12.50', transform: number}",
		"amount: {const: x, map: {x: 5}}",
		"amount: {path: a, map: {x: '500'}, transform: number}",
		// An empty event_id is replaced by the derived one.
		"amount: amount\n        event_id: {path: id, default: ''}",
		"amount: amount\n        event_id: {path: id, map: {none: ''}, keep_unmapped: true}",
	} {
		if err := compileFile(t, edit(t, "amount: amount", rule), "test.yaml"); err != nil {
			t.Errorf("%s: %v; want no problem", rule, err)
		}
	}
}

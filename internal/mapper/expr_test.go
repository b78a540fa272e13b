package mapper

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
)

// TestExprFields runs field rules with an expr source: each of the
// relay's functions, how results render, and run-time errors.
func TestExprFields(t *testing.T) {
	const value = `{"stake":10.1,"payout":2.3,"cents":1050,"amount":-250,"name":" Ann ","ms":1705314600123,
		"local":"2024-01-15 11:30:00","tz":"Europe/Malta","nul":null,"seq":7,"id":"p1"}`
	tests := []struct {
		name string
		rule config.FieldRule
		want string // show() of the result, or "error: <substring>"
	}{
		{"difference renders exactly", config.FieldRule{Expr: `value.stake - value.payout`}, "number 7.8"},
		{"abs", config.FieldRule{Expr: `abs(value.payout - value.stake)`}, "number 7.8"},
		{"abs of an int", config.FieldRule{Expr: `abs(value.amount)`}, "number 250"},
		{"sign", config.FieldRule{Expr: `sign(value.amount)`}, "number -1"},
		{"cents to units", config.FieldRule{Expr: `value.cents / 100`}, "number 10.5"},
		{"int arithmetic", config.FieldRule{Expr: `value.cents * 3 + 1`}, "number 3151"},
		{"round half away from zero", config.FieldRule{Expr: `round(2.675, 2)`}, "number 2.68"},
		{"round to a whole", config.FieldRule{Expr: `round(value.stake)`}, "number 10"},
		{"coalesce", config.FieldRule{Expr: `value.nul ?? value.missing ?? "none"`}, `string "none"`},
		{"nil is missing", config.FieldRule{Expr: `value.nul`}, "missing"},
		{"nil takes the default", config.FieldRule{Expr: `value.missing`, Default: "d"}, `string "d"`},
		{"strings", config.FieldRule{Expr: `upper(trim(value.name)) + "/" + key`}, `string "ANN/player-1"`},
		{"boolean", config.FieldRule{Expr: `value.cents > 1000 && headers.brand == "lucky"`}, "bool true"},
		{"unix_millis renders as the API's time", config.FieldRule{Expr: `unix_millis(value.ms)`}, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_seconds", config.FieldRule{Expr: `unix_seconds(value.ms / 1000)`}, `string "2024-01-15T10:30:00.123Z"`},
		{"parse_time with a zone from the value", config.FieldRule{Expr: `parse_time("2006-01-02 15:04:05", value.local, value.tz)`}, `string "2024-01-15T10:30:00Z"`},
		{"format_rfc3339", config.FieldRule{Expr: `"at " + format_rfc3339(timestamp)`}, `string "at 2024-01-15T10:30:00Z"`},
		{"record coordinates", config.FieldRule{Expr: `topic + "-" + string(partition) + "-" + string(offset)`}, `string "t-3-42"`},
		{"object as JSON, floats as results", config.FieldRule{Expr: `{"seq": value.seq, "net": value.stake - value.payout, "at": timestamp}`}, `raw {"at":"2024-01-15T10:30:00Z","net":7.8,"seq":7}`},
		{"$env reads the value", config.FieldRule{Expr: `$env.value.cents + 1`}, "number 1051"},
		{"$env reads the headers", config.FieldRule{Expr: `$env["headers"]["brand"]`}, `string "lucky"`},
		{"split gives a list", config.FieldRule{Expr: `split("a,b", ",")`}, `raw ["a","b"]`},
		{"headers as an object", config.FieldRule{Expr: `headers`}, `raw {"brand":"lucky"}`},
		{"a list of lists", config.FieldRule{Expr: `[split("a", ","), value.stake - value.payout]`}, `raw [["a"],7.8]`},
		{"then map", config.FieldRule{Expr: `sign(value.amount)`, Map: map[string]any{"-1": "Withdrawal", "1": "Deposit"}}, `string "Withdrawal"`},
		{"then transform", config.FieldRule{Expr: `value.id + "_X"`, Transform: config.Names{"lower"}}, `string "p1_x"`},

		{"division by zero", config.FieldRule{Expr: `value.cents / (value.seq - 7)`}, "error: expr: +Inf is not a number JSON can hold (a division by zero?)"},
		{"modulo by zero", config.FieldRule{Expr: `value.cents % (value.seq - 7)`}, "error: expr: runtime error: integer divide by zero (column 13 of the expression)"},
		{"missing operand", config.FieldRule{Expr: `value.missing + 1`}, "error: expr: invalid operation: <nil> + int"},
		{"wrong type", config.FieldRule{Expr: `sign(value.name)`}, `error: expr: sign: want a number, got " Ann "`},
		{"bad time text", config.FieldRule{Expr: `parse_time("2006-01-02", value.local)`}, `error: expr: parse_time: "2024-01-15 11:30:00" does not match layout "2006-01-02"`},
		{"time out of range", config.FieldRule{Expr: `unix_seconds(-99999999999)`}, "error: expr: -1199-02-15 14:13:21 +0000 UTC is outside the years 0001 to 9999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, value, evalRule(t, tt.rule, value), tt.want)
		})
	}
}

const exprConfig = `
kafka: {brokers: [localhost:9092], group: g, topics: [events]}
destinations:
  - {name: main, base_url: "https://gw.example.com/apigw/ingest", account_id: acc-1, workspace_id: ws-1, token_env: T}
dlq: {topic: dlq}
routing:
  routes:
    - name: test-players
      topic: events
      when: {meta: key, matches: '^test-'}
      skip: true
    - name: signups
      topic: events
      when: {meta: 'header:ce_type', equals: player.signup}
      model: system_event
      fields:
        event_name: {meta: 'header:ce_type'}
        event_time: {meta: timestamp}
    - name: losses
      topic: events
      when: {expr: 'headers.ce_type == "bet.settled" && value.stake > value.payout'}
      model: gaming_activity
      fields:
        user_id: {meta: key}
        event_name: {const: Bet Lost}
        event_time: {expr: 'unix_millis(value.at)'}
        wager_amount: stake
        loss_amount: {expr: 'abs(value.stake - value.payout)'}
    - name: keyless
      topic: events
      when: {meta: key, exists: false}
      model: system_event
      fields:
        event_name: {const: Keyless}
        event_time: {meta: timestamp}
`

func exprRecord(key string, ceType, value string) *kgo.Record {
	r := record("events", value)
	if key != "<nil>" {
		r.Key = []byte(key)
	}
	if ceType != "" {
		r.Headers = []kgo.RecordHeader{{Key: "ce_type", Value: []byte(ceType)}, {Key: "ce_type", Value: []byte("second")}}
	}
	return r
}

// TestExprRouting routes by the key, a CloudEvents ce_type header and an
// expression, and dead-letters a record whose condition fails to run.
func TestExprRouting(t *testing.T) {
	m := testMapper(t, exprConfig, false)
	tests := []struct {
		name        string
		key, ceType string
		value       string
		want        string // route and record JSON, or the failure
	}{
		{"key skips", "test-7", "player.signup", `{}`, "test-players skipped"},
		{"header routes", "p1", "player.signup", `{}`,
			`signups {"account_id":"acc-1","workspace_id":"ws-1","event_category":"SystemEvent","event_name":"player.signup","event_id":"relay-events-7-99","event_time":"2024-01-15T10:30:00Z"}`},
		{"expression routes", "p1", "bet.settled", `{"stake":10.1,"payout":2.3,"at":1705314600123}`,
			`losses {"account_id":"acc-1","workspace_id":"ws-1","user_id":"p1","event_category":"Gaming Activity","event_name":"Bet Lost","event_id":"relay-events-7-99","event_time":"2024-01-15T10:30:00.123Z","wager_amount":10.1,"loss_amount":7.8}`},
		{"expression false", "p1", "bet.settled", `{"stake":1,"payout":2}`, "unrouted: no route matches"},
		{"other header", "p1", "player.login", `{}`, "unrouted: no route matches"},
		{"no key", "<nil>", "", `{}`, "keyless"},
		{"condition fails to run", "p1", "bet.settled", `{"payout":2}`,
			"invalid: route losses: when: expr: invalid operation: <nil> > int (column 49 of the expression)"},
		{"field fails to run", "p1", "bet.settled", `{"stake":10,"payout":2,"at":"noon"}`,
			"invalid: route losses: event_time: expr: unix_millis: want a number (int() or float() convert a string), got \"noon\" (column 1 of the expression)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := m.Map(exprRecord(tt.key, tt.ceType, tt.value))
			var got string
			switch {
			case err != nil:
				got = err.Error()
				if f, ok := errors.AsType[*Failure](err); ok && f.Reason == failure.Invalid && !errors.Is(err, ErrInvalid) {
					t.Errorf("errors.Is(err, ErrInvalid) = false")
				}
			case res.Skipped:
				got = res.Route + " skipped"
			default:
				got = res.Route + " " + string(res.Record.JSON)
			}
			if tt.want == "keyless" {
				got, tt.want = res.Route, "keyless"
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// compileTestCond compiles c as the condition at key "when" of a file
// "test": its problems are the error.
func compileTestCond(c *config.Condition, pl *plan) (*cond, error) {
	ps := (&config.Config{Source: "test"}).Problems()
	out := compileCond(c, "when", pl, ps)
	return out, ps.Err()
}

// TestExprLazy checks that a route without expressions builds nothing of
// their environment, and that an expression reading only headers does not
// parse the value.
func TestExprLazy(t *testing.T) {
	pl := newPlan()
	rec := exprRecord("p1", "player.signup", `{"a":1}`)
	d := newDoc(rec, pl)
	plain, err := compileTestCond(&config.Condition{Meta: "header:ce_type", Equals: "player.signup"}, pl)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := plain.eval(d); !ok || err != nil {
		t.Fatalf("meta condition: got %v, %v, want true", ok, err)
	}
	if d.ex.m != nil || d.ex.built != 0 {
		t.Errorf("a meta condition built the expression environment: %+v", d.ex)
	}
	onHeaders, err := compileTestCond(&config.Condition{Expr: `headers.ce_type == "player.signup"`}, pl)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := onHeaders.eval(d); !ok || err != nil {
		t.Fatalf("expr condition: got %v, %v, want true", ok, err)
	}
	if d.ex.env.Value != nil || d.ex.env.Headers["ce_type"] != "player.signup" {
		t.Errorf("got value %v, headers %v; want no value and the first ce_type", d.ex.env.Value, d.ex.env.Headers)
	}
	d.reset(nil, nil)
	if d.ex.m != nil || d.ex.env.Headers != nil {
		t.Errorf("reset kept the expression environment: %+v", d.ex)
	}
}

func TestNewExprErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{"bad condition expression", func(c *config.Config) { c.Routing.Routes[1].When = &config.Condition{Expr: "vaule > 1"} },
			`test.yaml:14: routing.routes[1].when.expr: unknown name vaule (column 1 of the expression)`},
		// A condition's meta and its values are config.Parse's to check
		// (config's TestParseExpressionProblems).
		{"bad field expression", func(c *config.Config) { c.Routing.Routes[2].Fields[4].Expr = "abs(" },
			`test.yaml:28: routing.routes[2].fields.loss_amount.expr: unexpected token EOF`},
		{"expr and path", func(c *config.Config) { c.Routing.Routes[2].Fields[3].Expr = "value.stake" },
			`test.yaml:27: routing.routes[2].fields.wager_amount: want exactly one of path, first_of, const, template, template_json, meta and expr`},
	}
	for _, tt := range tests {
		c, err := config.Parse([]byte(exprConfig), "test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		tt.edit(c)
		_, err = New(c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// BenchmarkMapExpr maps a record by an expression condition and two
// expression fields, the cost the routes without expressions do not pay.
func BenchmarkMapExpr(b *testing.B) {
	m := testMapper(b, exprConfig, false)
	rec := exprRecord("p1", "bet.settled", `{"stake":10.1,"payout":2.3,"at":1705314600123,"game":{"id":"g1","title":"Reels"}}`)
	if res, err := m.Map(rec); err != nil || res.Route != "losses" {
		b.Fatalf("got %+v, %v", res, err)
	}
	benchmarkRecord(b, m, rec)
}

// BenchmarkMapHeaderRoute maps a record routed by a declarative header
// condition, which builds no expression environment.
func BenchmarkMapHeaderRoute(b *testing.B) {
	m := testMapper(b, exprConfig, false)
	benchmarkRecord(b, m, exprRecord("p1", "player.signup", `{"a":1}`))
}

// TestExprConcurrent maps through expressions from several goroutines: a
// compiled program is shared, each record's environment and machine not.
func TestExprConcurrent(t *testing.T) {
	m := testMapper(t, exprConfig, false)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				stake := g*1000 + i + 2
				rec := exprRecord("p1", "bet.settled", fmt.Sprintf(`{"stake":%d,"payout":1,"at":1705314600123}`, stake))
				res, err := m.Map(rec)
				want := fmt.Sprintf(`"loss_amount":%d}`, stake-1)
				if err != nil || !strings.HasSuffix(string(res.Record.JSON), want) {
					t.Errorf("stake %d: got %s, %v; want it to end %s", stake, res.Record.JSON, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestExprTimestampUTC: kgo gives a record's timestamp in the host's local
// time zone; an expression sees it in UTC, so that timestamp.Hour() or
// timestamp.Format maps a record the same on every host, whatever its TZ.
func TestExprTimestampUTC(t *testing.T) {
	at := time.Date(2024, 1, 15, 23, 30, 0, 0, time.UTC)
	for _, tt := range []struct{ src, want string }{
		{`timestamp.Hour()`, "number 23"},
		{`timestamp.Format("2006-01-02 15:04")`, `string "2024-01-15 23:30"`},
	} {
		pl := newPlan()
		f, err := compileRule(&config.FieldRule{Target: "f", Expr: tt.src}, pl)
		if err != nil {
			t.Fatal(err)
		}
		rec := record("events", `{}`)
		rec.Timestamp = at.In(time.FixedZone("host", 2*3600)) // as kgo's time.Unix is, under TZ
		v, ok, err := f.eval(newDoc(rec, pl))
		if got := show(v); err != nil || !ok || got != tt.want {
			t.Errorf("%s: got %s, %v, %v; want %s", tt.src, got, ok, err, tt.want)
		}
	}
}

package mapper

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
)

const testConfig = `
kafka:
  brokers: [localhost:9092]
  group: g
  topics: [payments, misc, quiet]
destinations:
  - {name: main, base_url: "https://gw.example.com/apigw/ingest", account_id: acc-1, workspace_id: ws-1, token_env: T}
  - {name: brand2, base_url: "https://gw.example.com/apigw/ingest", account_id: acc-2, workspace_id: ws-2, token_env: T2}
dlq: {topic: dlq}
routing:
  routes:
    - name: test-traffic
      topic: payments
      when: {path: test, equals: true}
      skip: true
    - name: deposits
      topic: payments
      when: {path: type, in: [deposit.completed, deposit.failed]}
      model: deposit
      destination: main
      fields:
        user_id: player_id
        event_name: {path: status, map: {OK: Successful Deposit, FAIL: Failed Deposit}}
        event_id: id
        event_time: {path: ts, transform: unix_millis}
        amount: {path: cents, transform: minor_units, currency_path: currency}
        payment_method: method
        transaction_id: txn
    - name: brand2-withdrawals
      topic: payments
      when:
        all:
          - {path: type, matches: '^withdrawal\.'}
          - {path: brand, equals: 2}
      model: withdraw
      destination: brand2
      fields:
        user_id: player_id
        event_name: {const: Withdrawal}
        event_time: {path: ts, transform: unix_millis}
        amount: amount
        payment_method: method
        transaction_id: txn
    - name: misc-system
      topic: misc
      when: {not: {path: kind, exists: false}}
      model: system_event
      destination: main
      fields:
        event_name: kind
        event_time: {meta: timestamp}
`

func testMapper(t testing.TB, yaml string, strict bool) *Mapper {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.Sink.Strict = strict
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func TestMapResults(t *testing.T) {
	m := testMapper(t, testConfig, false)
	tests := []struct {
		name, topic, value string
		route, dest        string
		skipped            bool
		json               string // the encoded record, when mapped
	}{
		{
			name: "deposit", topic: "payments",
			value: `{"type":"deposit.completed","status":"OK","id":"e1","player_id":"p1","ts":1705314600000,"cents":2550,"currency":"EUR","method":"card","txn":"t1"}`,
			route: "deposits", dest: "main",
			json: `{"account_id":"acc-1","workspace_id":"ws-1","user_id":"p1","event_category":"Deposit","event_name":"Successful Deposit","event_id":"e1","event_time":"2024-01-15T10:30:00Z","payment_method":"card","transaction_id":"t1","amount":25.5}`,
		},
		{
			name: "derived event id, second destination", topic: "payments",
			value: `{"type":"withdrawal.requested","brand":2,"player_id":"p1","ts":1705314600000,"amount":10}`,
			route: "brand2-withdrawals", dest: "brand2",
			json: `{"account_id":"acc-2","workspace_id":"ws-2","user_id":"p1","event_category":"Withdraw","event_name":"Withdrawal","event_id":"relay-payments-7-99","event_time":"2024-01-15T10:30:00Z","amount":10}`,
		},
		{name: "skip route", topic: "payments", value: `{"type":"deposit.completed","test":true}`, route: "test-traffic", skipped: true},
		{
			name: "not(exists: false), meta timestamp", topic: "misc", value: `{"kind":"maintenance"}`,
			route: "misc-system", dest: "main",
			json: `{"account_id":"acc-1","workspace_id":"ws-1","event_category":"SystemEvent","event_name":"maintenance","event_id":"relay-misc-7-99","event_time":"2024-01-15T10:30:00Z"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := m.Map(record(tt.topic, tt.value))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if res.Route != tt.route || res.Destination != tt.dest || res.Skipped != tt.skipped {
				t.Errorf("got route %q, destination %q, skipped %v; want %q, %q, %v", res.Route, res.Destination, res.Skipped, tt.route, tt.dest, tt.skipped)
			}
			if string(res.Record.JSON) != tt.json {
				t.Errorf("got  %s\nwant %s", res.Record.JSON, tt.json)
			}
		})
	}
}

func record(topic, value string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: 7, Offset: 99}
	if value != "<nil>" {
		r.Value = []byte(value)
	}
	r.Timestamp = mustTime("2024-01-15T10:30:00Z")
	return r
}

// TestMapFailures covers every failure reason.
func TestMapFailures(t *testing.T) {
	m := testMapper(t, testConfig, false)
	strict := testMapper(t, testConfig, true)
	const okDeposit = `"type":"deposit.completed","status":"OK","id":"e1","player_id":"p1","ts":1705314600000,"currency":"EUR"`
	tests := []struct {
		name   string
		m      *Mapper
		topic  string
		value  string
		reason failure.Reason
		route  string
		field  string
		msg    string
	}{
		{"tombstone", m, "payments", "<nil>", failure.Unparseable, "", "", "no value (a tombstone)"},
		{"empty", m, "payments", "  ", failure.Unparseable, "", "", "empty value"},
		{"broken JSON", m, "payments", `{"type":"deposit.compl`, failure.Unparseable, "", "", "not valid JSON"},
		{"trailing garbage", m, "payments", `{"a":1} x`, failure.Unparseable, "", "", "not valid JSON"},
		{"array", m, "payments", `[{"type":"deposit.completed"}]`, failure.Unparseable, "", "", "not a JSON object"},
		{"string", m, "payments", `"deposit"`, failure.Unparseable, "", "", "not a JSON object"},
		{"invalid UTF-8", m, "payments", "{\"type\":\"\xff\"}", failure.Unparseable, "", "", "not valid UTF-8"},
		{"no route for the topic", m, "quiet", `{"type":"x"}`, failure.Unrouted, "", "", `no route reads topic "quiet"`},
		{"unknown topic", m, "elsewhere", `{"type":"x"}`, failure.Unrouted, "", "", `no route reads topic "elsewhere"`},
		{"no route matches", m, "payments", `{"type":"chargeback.opened"}`, failure.Unrouted, "", "", "no route matches"},
		{"condition on other brand", m, "payments", `{"type":"withdrawal.requested","brand":3}`, failure.Unrouted, "", "", "no route matches"},
		{"type mismatch in equals", m, "payments", `{"type":"withdrawal.requested","brand":"2"}`, failure.Unrouted, "", "", "no route matches"},
		{"missing exists:false", m, "misc", `{"other":1}`, failure.Unrouted, "", "", "no route matches"},
		{"required field missing", m, "payments", `{"type":"deposit.completed","status":"OK","ts":1705314600000,"cents":100,"currency":"EUR"}`, failure.Invalid, "deposits", "user_id", "missing required field"},
		{"amount missing", m, "payments", `{` + okDeposit + `}`, failure.Invalid, "deposits", "amount", "missing required field"},
		{"transform fails", m, "payments", `{` + okDeposit + `,"cents":"lots"}`, failure.Invalid, "deposits", "amount", `minor_units: want a whole number of minor units, got "lots"`},
		{"bad time", m, "payments", `{"type":"deposit.completed","status":"OK","player_id":"p1","ts":"yesterday","cents":1,"currency":"EUR"}`, failure.Invalid, "deposits", "event_time", `unix_millis: want a number, got "yesterday"`},
		{"unmapped enum", m, "payments", `{"type":"deposit.completed","status":"WEIRD","player_id":"p1","ts":1,"cents":1,"currency":"EUR"}`, failure.Invalid, "deposits", "event_name", `map: no mapping for "WEIRD" and no fallback`},
		{"wrong type for the model", m, "payments", `{"type":"deposit.completed","status":"OK","player_id":7,"ts":1,"cents":1,"currency":"EUR"}`, failure.Invalid, "deposits", "user_id", "must be a string"},
		{"strict: negative amount", strict, "payments", `{` + okDeposit + `,"cents":-100,"method":"card","txn":"t"}`, failure.Invalid, "deposits", "amount", "must be greater than 0"},
		{"strict: payment method required", strict, "payments", `{` + okDeposit + `,"cents":100,"txn":"t"}`, failure.Invalid, "deposits", "payment_method", "missing required field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.m.Map(record(tt.topic, tt.value))
			if err == nil {
				t.Fatalf("got %+v (%s), want failure %s", res, res.Record.JSON, tt.reason)
			}
			var f *Failure
			if !errors.As(err, &f) {
				t.Fatalf("got %T %v, want *Failure", err, err)
			}
			got := [4]string{string(f.Reason), f.Route, f.Field, f.Message}
			want := [4]string{string(tt.reason), tt.route, tt.field, tt.msg}
			if got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			sentinel := map[failure.Reason]error{failure.Unparseable: ErrUnparseable, failure.Unrouted: ErrUnrouted, failure.Invalid: ErrInvalid}
			for r, s := range sentinel {
				if errors.Is(err, s) != (r == tt.reason) {
					t.Errorf("errors.Is(err, %v) = %v", s, errors.Is(err, s))
				}
			}
		})
	}
}

func TestFailureError(t *testing.T) {
	f := &Failure{Reason: failure.Invalid, Route: "deposits", Field: "amount", Message: "must be a number"}
	if got, want := f.Error(), "invalid: route deposits: amount: must be a number"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	f = &Failure{Reason: failure.Unrouted, Message: "no route matches"}
	if got, want := f.Error(), "unrouted: no route matches"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUnmatchedSkip(t *testing.T) {
	m := testMapper(t, strings.Replace(testConfig, "routing:\n", "routing:\n  unmatched: skip\n", 1), false)
	res, err := m.Map(record("payments", `{"type":"chargeback.opened"}`))
	if err != nil || !res.Skipped || res.Route != "" {
		t.Errorf("got %+v, %v; want skipped without a route", res, err)
	}
	// Skipping unmatched records does not hide unparseable ones.
	if _, err := m.Map(record("payments", `{`)); !errors.Is(err, ErrUnparseable) {
		t.Errorf("got %v, want unparseable", err)
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		cond  string
		value string
		want  bool
	}{
		{`{path: t, equals: a}`, `{"t":"a"}`, true},
		{`{path: t, equals: a}`, `{"t":"b"}`, false},
		{`{path: t, equals: a}`, `{}`, false},
		{`{path: n, equals: 2}`, `{"n":2.0}`, true},
		{`{path: n, equals: 2}`, `{"n":"2"}`, false},
		{`{path: n, equals: 2.5}`, `{"n":2.5}`, true},
		{`{path: b, equals: false}`, `{"b":false}`, true},
		{`{path: b, equals: false}`, `{}`, false},
		{`{path: t, in: [a, b]}`, `{"t":"b"}`, true},
		{`{path: t, in: [a, 1]}`, `{"t":1}`, true},
		{`{path: t, in: [a, b]}`, `{"t":"c"}`, false},
		{`{path: a.b, exists: true}`, `{"a":{"b":0}}`, true},
		{`{path: a.b, exists: true}`, `{"a":{"b":null}}`, false},
		{`{path: a.b, exists: false}`, `{"a":{}}`, true},
		{`{path: t, matches: '^deposit\.'}`, `{"t":"deposit.failed"}`, true},
		{`{path: t, matches: '^deposit\.'}`, `{"t":"xdeposit.failed"}`, false},
		{`{path: n, matches: '^4'}`, `{"n":42}`, true},
		{`{path: t, matches: '.*'}`, `{}`, false},
		{`{all: [{path: a, equals: 1}, {path: b, equals: 2}]}`, `{"a":1,"b":2}`, true},
		{`{all: [{path: a, equals: 1}, {path: b, equals: 2}]}`, `{"a":1,"b":3}`, false},
		{`{any: [{path: a, equals: 1}, {path: b, equals: 2}]}`, `{"a":0,"b":2}`, true},
		{`{any: [{path: a, equals: 1}, {path: b, equals: 2}]}`, `{}`, false},
		{`{not: {path: a, equals: 1}}`, `{"a":2}`, true},
		{`{path: 'items.#(sku=="x")', exists: true}`, `{"items":[{"sku":"y"},{"sku":"x"}]}`, true},
	}
	for _, tt := range tests {
		cfg := strings.Replace(testConfig, "when: {not: {path: kind, exists: false}}", "when: "+tt.cond, 1)
		m := testMapper(t, cfg, false)
		res, err := m.Map(record("misc", strings.Replace(tt.value, "{", `{"kind":"k",`, 1)))
		if tt.value == "{}" {
			res, err = m.Map(record("misc", `{"kind":"k"}`))
		}
		got := err == nil && res.Route == "misc-system"
		if got != tt.want {
			t.Errorf("when %s on %s: got match %v (%v), want %v", tt.cond, tt.value, got, err, tt.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	base := func() *config.Config {
		cfg, err := config.Parse([]byte(testConfig), "test.yaml")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{"unknown model", func(c *config.Config) { c.Routing.Routes[1].Model = "deposits" }, `test.yaml:19: routing.routes[1].model: want one of customer, account, deposit,`},
		{"unknown destination", func(c *config.Config) { c.Routing.Routes[1].Destination = "nope" }, `test.yaml:20: routing.routes[1].destination: no destination named "nope"`},
		{"automatic field", func(c *config.Config) {
			c.Routing.Routes[1].Fields = append(c.Routing.Routes[1].Fields, config.FieldRule{Target: "account_id", Const: "x"})
		}, `routing.routes[1].fields.account_id: filled by the relay`},
		{"unknown field", func(c *config.Config) {
			c.Routing.Routes[1].Fields = append(c.Routing.Routes[1].Fields, config.FieldRule{Target: "amout", Path: "x"})
		}, `routing.routes[1].fields.amout: model deposit has no field "amout"`},
		{"bad transform", func(c *config.Config) { c.Routing.Routes[1].Fields[0].Transform = config.Names{"nope"} }, `test.yaml:22: routing.routes[1].fields.user_id.transform[0]: unknown transform "nope"`},
		// A condition's structure is config.Parse's to check (config's
		// TestParseProblems), its expression the compile's.
		{"bad condition", func(c *config.Config) { c.Routing.Routes[0].When = &config.Condition{Expr: "a >"} }, `test.yaml:14: routing.routes[0].when.expr: unexpected token EOF`},
	}
	for _, tt := range tests {
		c := base()
		tt.edit(c)
		_, err := New(c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestMapConcurrent(t *testing.T) {
	m := testMapper(t, testConfig, false)
	value := `{"type":"deposit.completed","status":"OK","id":"e1","player_id":"p1","ts":1705314600000,"cents":2550,"currency":"EUR"}`
	want, err := m.Map(record("payments", value))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				got, err := m.Map(record("payments", value))
				if err != nil || !bytes.Equal(got.Record.JSON, want.Record.JSON) {
					t.Errorf("concurrent Map: got %s, %v", got.Record.JSON, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDerivedEventID(t *testing.T) {
	if got, want := DerivedEventID("payments", 3, 1234), "relay-payments-3-1234"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestReplayOfKeepsDerivedEventID: a record republished to its source topic
// by a replay gets the event id of its first attempt, not of its new offset.
func TestReplayOfKeepsDerivedEventID(t *testing.T) {
	m := testMapper(t, testConfig, false)
	value := `{"kind":"maintenance"}`
	tests := []struct {
		name    string
		headers []kgo.RecordHeader
		want    string
	}{
		{"no header", nil, "relay-misc-7-99"},
		{"replay of", []kgo.RecordHeader{{Key: "a", Value: []byte("b")}, {Key: HeaderReplayOf, Value: []byte(ReplayOf("misc", 2, 1234))}}, "relay-misc-2-1234"},
		{"first header wins", []kgo.RecordHeader{{Key: HeaderReplayOf, Value: []byte("misc/1/5")}, {Key: HeaderReplayOf, Value: []byte("misc/2/6")}}, "relay-misc-1-5"},
		{"unreadable header: own coordinates", []kgo.RecordHeader{{Key: HeaderReplayOf, Value: []byte("misc/x/5")}}, "relay-misc-7-99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := record("misc", value)
			r.Headers = tt.headers
			res, err := m.Map(r)
			if err != nil {
				t.Fatal(err)
			}
			if res.Record.EventID != tt.want {
				t.Errorf("event id %q, want %q", res.Record.EventID, tt.want)
			}
		})
	}
}

// TestNewLeavesConfig: New reads the configuration without writing to it,
// so that mappers built from one configuration (two group members in a
// test, a replay beside the relay) can map while another is built.
func TestNewLeavesConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(testConfig), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cond := cfg.Routing.Routes[1].When
	cond.In = []any{1, "deposit.completed"} // YAML decodes a number as an int
	if _, err := New(cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := cond.In[0].(int); !ok {
		t.Errorf("after New the route's in: holds %T %v; want the int 1 it held", cond.In[0], cond.In[0])
	}
}

// TestResultsOwnTheirBytes maps every reference sample with one Mapper,
// which reuses its buffers record after record, and overwrites each value
// after Map: the results kept must still equal what a fresh Mapper makes.
func TestResultsOwnTheirBytes(t *testing.T) {
	m := exampleMapper(t, false)
	type kept struct {
		rec *kgo.Record
		res Result
	}
	var all []kept
	for topic, lines := range readSamples(t) {
		for i, v := range lines {
			rec := &kgo.Record{Topic: topic, Partition: 2, Offset: int64(i), Key: []byte("k"), Value: bytes.Clone(v)}
			res, err := m.Map(rec)
			if err != nil {
				t.Fatalf("%s line %d: %v", topic, i+1, err)
			}
			for j := range rec.Value {
				rec.Value[j] = ' '
			}
			rec.Value = v
			all = append(all, kept{rec, res})
		}
	}
	for _, k := range all {
		want, err := exampleMapper(t, false).Map(k.rec)
		if err != nil {
			t.Fatal(err)
		}
		got := k.res
		if string(got.Record.JSON) != string(want.Record.JSON) || got.Record.UserID != want.Record.UserID ||
			got.Record.EventID != want.Record.EventID || got.Route != want.Route {
			t.Errorf("%s offset %d:\ngot  %+v %s\nwant %+v %s", k.rec.Topic, k.rec.Offset, got, got.Record.JSON, want, want.Record.JSON)
		}
	}
}

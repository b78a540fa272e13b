package mapper

import (
	"errors"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
)

// fanoutConfig fans a signup out to an account event, a customer profile
// and, for web signups, a system event at the second destination.
const fanoutConfig = `
kafka:
  brokers: [localhost:9092]
  group: g
  topics: [signups]
destinations:
  - {name: main, base_url: "https://gw.example.com/apigw/ingest", account_id: acc-1, workspace_id: ws-1, token_env: T}
  - {name: brand2, base_url: "https://gw.example.com/apigw/ingest", account_id: acc-2, workspace_id: ws-2, token_env: T2}
dlq: {topic: dlq}
routing:
  routes:
    - name: signup
      topic: signups
      when: {path: type, equals: signup}
      outputs:
        - name: registration
          model: account
          destination: main
          fields:
            user_id: player_id
            event_name: {const: Player Registration}
            event_time: {path: ts, transform: unix_millis}
        - name: profile
          model: customer
          destination: main
          fields:
            user_id: player_id
            creation_timestamp: {path: ts, transform: unix_millis}
            email: email
        - name: welcome
          when: {path: channel, equals: web}
          model: system_event
          destination: brand2
          fields:
            event_name: {const: Welcome}
            event_time: {path: ts, transform: unix_millis}
`

func TestMapFanOut(t *testing.T) {
	m := testMapper(t, fanoutConfig, false)
	const (
		account = `{"account_id":"acc-1","workspace_id":"ws-1","user_id":"p1","event_category":"Account","event_name":"Player Registration","event_id":"relay-signups-7-99","event_time":"2024-01-15T10:30:00Z"}`
		profile = `{"account_id":"acc-1","workspace_id":"ws-1","user_id":"p1","email":"p1@example.com","creation_timestamp":"2024-01-15T10:30:00Z"}`
		welcome = `{"account_id":"acc-2","workspace_id":"ws-2","event_category":"SystemEvent","event_name":"Welcome","event_id":"relay-signups-7-99:welcome","event_time":"2024-01-15T10:30:00Z"}`
	)
	type out struct{ name, dest, json, failure string }
	tests := []struct {
		name  string
		value string
		want  []out
	}{
		{"two outputs, the third's when fails",
			`{"type":"signup","player_id":"p1","ts":1705314600000,"email":"p1@example.com","channel":"app"}`,
			[]out{{"registration", "main", account, ""}, {"profile", "main", profile, ""}}},
		{"three outputs, the last suffixes its event id",
			`{"type":"signup","player_id":"p1","ts":1705314600000,"email":"p1@example.com","channel":"web"}`,
			[]out{{"registration", "main", account, ""}, {"profile", "main", profile, ""}, {"welcome", "brand2", welcome, ""}}},
		{"one output fails, the others go",
			`{"type":"signup","player_id":"p1","ts":1705314600000,"email":"not an email","channel":"web"}`,
			[]out{{"registration", "main", account, ""}, {"profile", "main", "", "invalid: route signup output profile: email: "}, {"welcome", "brand2", welcome, ""}}},
		{"every output fails",
			`{"type":"signup","ts":"never","channel":"web"}`,
			[]out{{"registration", "main", "", "invalid: route signup output registration: event_time: "},
				{"profile", "main", "", "invalid: route signup output profile: creation_timestamp: "},
				{"welcome", "brand2", "", "invalid: route signup output welcome: event_time: "}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := m.Map(record("signups", tt.value))
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if res.Route != "signup" || res.Skipped {
				t.Errorf("got route %q, skipped %v; want signup, false", res.Route, res.Skipped)
			}
			var got []out
			for i := range res.Len() {
				o := res.At(i)
				g := out{o.Name, o.Destination, string(o.Record.JSON), ""}
				if o.Failure != nil {
					g.failure = o.Failure.Error()
					if !errors.Is(o.Failure, ErrInvalid) {
						t.Errorf("output %d: %v is not ErrInvalid", i, o.Failure)
					}
				}
				got = append(got, g)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d outputs %+v, want %d %+v", len(got), got, len(tt.want), tt.want)
			}
			for i, g := range got {
				w := tt.want[i]
				// A failure's message is the validator's; its start names
				// the route, output and field.
				if g.name != w.name || g.dest != w.dest || g.json != w.json || !strings.HasPrefix(g.failure, w.failure) || (g.failure == "") != (w.failure == "") {
					t.Errorf("output %d:\ngot  %+v\nwant %+v", i, g, w)
				}
			}
		})
	}
}

func TestMapFanOutSkipsWhenNoOutputEmits(t *testing.T) {
	cfg := strings.Replace(fanoutConfig, "        - name: registration\n", "        - name: registration\n          when: {path: channel, equals: web}\n", 1)
	cfg = strings.Replace(cfg, "        - name: profile\n", "        - name: profile\n          when: {path: channel, equals: web}\n", 1)
	m := testMapper(t, cfg, false)
	res, err := m.Map(record("signups", `{"type":"signup","player_id":"p1","ts":1705314600000,"channel":"app"}`))
	if err != nil || !res.Skipped || res.Route != "signup" || res.Len() != 0 {
		t.Errorf("got %+v, %v; want skipped by route signup, no outputs", res, err)
	}
}

// TestFanOutWhenError: an expression error in an output's when is that
// output's failure, named, as a route's when error is the record's; the
// other outputs still go.
func TestFanOutWhenError(t *testing.T) {
	cfg := strings.Replace(fanoutConfig, "          when: {path: channel, equals: web}\n", "          when: {expr: 'value.n % value.zero > 1'}\n", 1)
	m := testMapper(t, cfg, false)
	res, err := m.Map(record("signups", `{"type":"signup","player_id":"p1","ts":1705314600000,"n":1,"zero":0}`))
	if err != nil || res.Len() != 3 {
		t.Fatalf("Map: %d outputs, %v; want 3 and no error", res.Len(), err)
	}
	for i, want := range []string{"", "", "invalid: route signup output welcome: when: "} {
		got := ""
		if f := res.At(i).Failure; f != nil {
			got = f.Error()
		}
		if !strings.HasPrefix(got, want) || (got == "") != (want == "") {
			t.Errorf("output %d failure = %q; want %q…", i, got, want)
		}
	}
}

// TestFanOutEventIDs: the first output keeps the record's derived event id,
// which dead letters and replays of a route without outputs know; the
// others get their own, also kept across a republishing replay.
func TestFanOutEventIDs(t *testing.T) {
	m := testMapper(t, fanoutConfig, false)
	value := `{"type":"signup","player_id":"p1","ts":1705314600000,"channel":"web"}`
	tests := []struct {
		name    string
		headers []kgo.RecordHeader
		want    []string // registration, welcome
	}{
		{"own coordinates", nil, []string{"relay-signups-7-99", "relay-signups-7-99:welcome"}},
		{"replay of", []kgo.RecordHeader{{Key: HeaderReplayOf, Value: []byte(ReplayOf("signups", 2, 1234))}}, []string{"relay-signups-2-1234", "relay-signups-2-1234:welcome"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := record("signups", value)
			r.Headers = tt.headers
			res, err := m.Map(r)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{res.Find("registration").Record.EventID, res.Find("welcome").Record.EventID}
			if got[0] != DerivedEventID("signups", 7, 99) && tt.headers == nil {
				t.Errorf("first output's id %q is not DerivedEventID's %q", got[0], DerivedEventID("signups", 7, 99))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got ids %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResultFind(t *testing.T) {
	m := testMapper(t, fanoutConfig, false)
	res, err := m.Map(record("signups", `{"type":"signup","player_id":"p1","ts":1705314600000,"channel":"web"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"registration", "account"},
		{"welcome", "system_event"},
		{"", ""}, // no output is unnamed in a fan-out route
		{"gone", ""},
	}
	for _, tt := range tests {
		got := ""
		if o := res.Find(tt.name); o != nil {
			got = o.Record.Kind.String()
		}
		if got != tt.want {
			t.Errorf("Find(%q): got %q, want %q", tt.name, got, tt.want)
		}
	}
	single := testMapper(t, testConfig, false)
	res, err = single.Map(record("misc", `{"kind":"maintenance"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Find(""); o == nil || o.Record.Kind.String() != "system_event" || res.Len() != 1 {
		t.Errorf("route without outputs: Find(\"\") = %+v, Len %d; want its one record", o, res.Len())
	}
}

func TestNewNamesTheOutput(t *testing.T) {
	cfg, err := config.Parse([]byte(fanoutConfig), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Routing.Routes[0].Outputs[1].Model = "nope"
	_, err = New(cfg)
	if want := `f.yaml:24: routing.routes[0].outputs[1].model: want one of customer, account,`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want prefix %q", err, want)
	}
}

func TestFanOutFailureReason(t *testing.T) {
	m := testMapper(t, fanoutConfig, false)
	res, err := m.Map(record("signups", `{"type":"signup","player_id":"p1","ts":1705314600000,"email":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	f := res.Find("profile").Failure
	if f == nil || f.Reason != failure.Invalid || f.Route != "signup" || f.Output != "profile" || f.Field != "email" {
		t.Errorf("got %+v, want invalid, route signup, output profile, field email", f)
	}
}

func TestRunMapTestFanOut(t *testing.T) {
	m := testMapper(t, fanoutConfig, false)
	in := `{"type":"signup","player_id":"p1","ts":1705314600000,"email":"bad","channel":"app"}`
	var out strings.Builder
	n, err := RunMapTest(m, "signups", strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	want := `line 1: route signup output registration -> account (/events/account) at destination main
{
  "account_id": "acc-1",
  "workspace_id": "ws-1",
  "user_id": "p1",
  "event_category": "Account",
  "event_name": "Player Registration",
  "event_id": "relay-signups-0-1",
  "event_time": "2024-01-15T10:30:00Z"
}
line 1: FAILED invalid
  route: signup
  output: profile
  field: email
`
	if want := (TestCounts{Failed: 1}); n != want {
		t.Errorf("got %+v; want %+v", n, want)
	}
	if !strings.HasPrefix(out.String(), want) {
		t.Errorf("got:\n%s\nwant it to start:\n%s", out.String(), want)
	}
}

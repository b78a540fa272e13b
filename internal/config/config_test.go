package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// minimal is the least configuration Parse accepts, which the mapper's
// tests share.
var minimal = readTestdata("minimal.yaml")

// readTestdata returns the content of testdata/name.
func readTestdata(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseMinimalFillsDefaults(t *testing.T) {
	c, err := Parse([]byte(minimal), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"kafka.client_id", c.Kafka.ClientID, "optikpi-relay"},
		{"kafka.max_in_flight_records", c.Kafka.MaxInFlightRecords, 10000},
		{"kafka.max_in_flight_bytes", c.Kafka.MaxInFlightBytes, 64 << 20},
		{"kafka.commit_interval", c.Kafka.CommitInterval, time.Second},
		{"kafka.fetch_max_bytes", c.Kafka.FetchMaxBytes, 0},
		{"kafka.fetch_max_partition_bytes", c.Kafka.FetchMaxPartitionBytes, 256 << 10},
		{"kafka.fetch_max_wait", c.Kafka.FetchMaxWait, 500 * time.Millisecond},
		{"kafka.max_concurrent_fetches", c.Kafka.MaxConcurrentFetches, 0},
		{"kafka.session_timeout", c.Kafka.SessionTimeout, 45 * time.Second},
		{"kafka.rebalance_timeout", c.Kafka.RebalanceTimeout, 60 * time.Second},
		{"kafka.heartbeat_interval", c.Kafka.HeartbeatInterval, 3 * time.Second},
		{"kafka.balancer", c.Kafka.Balancer, "cooperative-sticky"},
		{"kafka.instance_id", c.Kafka.InstanceID, ""},
		{"sink.batch_size", c.Sink.BatchSize, 500},
		{"sink.max_batch_bytes", c.Sink.MaxBatchBytes, 1 << 20},
		{"sink.linger", c.Sink.Linger, 200 * time.Millisecond},
		{"sink.in_flight", c.Sink.InFlight, 4},
		{"sink.rate_limits (none: the guide's)", len(c.Sink.RateLimits), 0},
		{"sink.request_timeout", c.Sink.RequestTimeout, 30 * time.Second},
		{"sink.retry.initial_backoff", c.Sink.Retry.InitialBackoff, 200 * time.Millisecond},
		{"sink.retry.max_backoff", c.Sink.Retry.MaxBackoff, 30 * time.Second},
		{"sink.retry.max_attempts", c.Sink.Retry.MaxAttempts, 0},
		{"sink.misconfigured_retry", c.Sink.MisconfiguredRetry, 30 * time.Second},
		{"observability.listen", c.Observability.Listen, ":9090"},
		{"observability.log_level", c.Observability.LogLevel, "info"},
		{"observability.log_format", c.Observability.LogFormat, "json"},
		{"shutdown.timeout", c.Shutdown.Timeout, 25 * time.Second},
		{"dlq.max_message_bytes", c.DLQ.MaxMessageBytes, 1048588},
		{"routing.unmatched", c.Routing.Unmatched, "dlq"},
		{"routing.tombstones", c.Routing.Tombstones, "dlq"},
		{"routing.empty", c.Routing.Empty, "dlq"},
		{"routing.duplicate_keys", c.Routing.DuplicateKeys, "last"},
		{"routes[0].destination", c.Routing.Routes[0].Destination, "main"},
		{"routes[0].line", c.Routing.Routes[0].Line, 16},
		{"routes[0].fields", len(c.Routing.Routes[0].Fields), 4},
		{"fields[0] shorthand", c.Routing.Routes[0].Fields[0].Path, "player_id"},
		{"fields[2].transform", strings.Join(c.Routing.Routes[0].Fields[2].Transform, ","), "unix_millis"},
		{"fields[2].target", c.Routing.Routes[0].Fields[2].Target, "event_time"},
		{"fields[2].line", c.Routing.Routes[0].Fields[2].Line, 22},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// edit returns minimal with old replaced by new, failing if old is absent.
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(minimal, old) {
		t.Fatalf("minimal config has no %q", old)
	}
	return strings.Replace(minimal, old, new, 1)
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name  string
		old   string
		new   string
		wants []string // each must appear in the error
	}{
		{"unknown key", "  group: relay\n", "  group: relay\n  groop: x\n", []string{"test.yaml:5: kafka.groop: unknown key (known: brokers, group"}},
		{"empty key", "dlq:\n", "\"\": 1\ndlq:\n", []string{"test.yaml:12: \"\": unknown key (known: "}},
		{"empty nested key", "  group: relay\n", "  group: relay\n  \"\": x\n", []string{`test.yaml:5: kafka."": unknown key (known: brokers, group`}},
		{"bad duration", "dlq:\n", "sink:\n  linger: 5x\ndlq:\n", []string{`test.yaml:13: sink.linger: invalid duration "5x"`}},
		{"bad integer", "dlq:\n", "sink:\n  batch_size: many\ndlq:\n", []string{`test.yaml:13: sink.batch_size: want an integer, got "many"`}},
		{"batch too big", "dlq:\n", "sink:\n  batch_size: 501\ndlq:\n", []string{"test.yaml:13: sink.batch_size: must be 1 to 500, got 501"}},
		{"bytes too big", "dlq:\n", "sink:\n  max_batch_bytes: 7000000\ndlq:\n", []string{"sink.max_batch_bytes: must be 1024 to 6291456"}},
		{"missing group", "  group: relay\n", "", []string{"test.yaml:2: kafka.group: required"}},
		{"in-flight bytes too small", "  topics: [payments]\n", "  topics: [payments]\n  max_in_flight_bytes: 1000\n", []string{"kafka.max_in_flight_bytes: must be at least 1048576 (1 MiB), got 1000"}},
		{"fetch over in-flight bytes", "  topics: [payments]\n", "  topics: [payments]\n  max_in_flight_bytes: 2097152\n  fetch_max_bytes: 4194304\n", []string{"test.yaml:7: kafka.fetch_max_bytes: must be 0 (a quarter of kafka.max_in_flight_bytes, at most 4 MiB) to kafka.max_in_flight_bytes (2097152), got 4194304"}},
		{"partition fetch over fetch", "  topics: [payments]\n", "  topics: [payments]\n  fetch_max_bytes: 1048576\n  fetch_max_partition_bytes: 2097152\n", []string{"test.yaml:7: kafka.fetch_max_partition_bytes: must be at most kafka.fetch_max_bytes (1048576), got 2097152"}},
		{"partition fetch zero", "  topics: [payments]\n", "  topics: [payments]\n  fetch_max_partition_bytes: 0\n", []string{"test.yaml:6: kafka.fetch_max_partition_bytes: must be at least 1, got 0"}},
		{"fetch past int32", "  topics: [payments]\n", "  topics: [payments]\n  max_in_flight_bytes: 8589934592\n  fetch_max_bytes: 4294967297\n", []string{"test.yaml:7: kafka.fetch_max_bytes: must be at most 2147483647 (Kafka's fetch sizes are 32-bit), got 4294967297"}},
		{"partition fetch past int32", "  topics: [payments]\n", "  topics: [payments]\n  fetch_max_partition_bytes: 4294967297\n", []string{"test.yaml:6: kafka.fetch_max_partition_bytes: must be at most 2147483647 (Kafka's fetch sizes are 32-bit), got 4294967297"}},
		{"fetch wait too short", "  topics: [payments]\n", "  topics: [payments]\n  fetch_max_wait: 1ms\n", []string{"test.yaml:6: kafka.fetch_max_wait: must be 10ms to 1m0s, got 1ms"}},
		{"negative concurrent fetches", "  topics: [payments]\n", "  topics: [payments]\n  max_concurrent_fetches: -1\n", []string{"test.yaml:6: kafka.max_concurrent_fetches: must be 0 (one per broker) or more, got -1"}},
		{"missing dlq", "dlq:\n  topic: optikpi.dlq\n", "", []string{"test.yaml: dlq.topic: required"}},
		{"dlq message too small", "topic: optikpi.dlq", "topic: optikpi.dlq\n  max_message_bytes: 100", []string{"dlq.max_message_bytes: must be 32768 to 104857600"}},
		{"dlq consumed", "topic: optikpi.dlq", "topic: payments", []string{`dlq.topic: "payments" is also consumed`}},
		{"token in file", "    token_env: OPTIKPI_TOKEN\n", "    token: s3cret\n", []string{"destinations[0].token: unknown key: secrets never live", "destinations[0]: exactly one of token_env and token_file"}},
		{"both token sources", "    token_env: OPTIKPI_TOKEN\n", "    token_env: X\n    token_file: /run/secret\n", []string{"destinations[0]: exactly one of token_env and token_file"}},
		{"bad base url", "https://gw.example.com/apigw/ingest", "gw.example.com", []string{`destinations[0].base_url: want an absolute http or https URL`}},
		{"shutdown too long", "dlq:\n", "shutdown:\n  timeout: 30s\ndlq:\n", []string{"shutdown.timeout: must be more than 0 and less than 30s"}},
		{"bad sasl", "  topics: [payments]\n", "  topics: [payments]\n  sasl:\n    mechanism: gssapi\n", []string{`kafka.sasl.mechanism: want plain, scram-sha-256, scram-sha-512, oauthbearer or aws-msk-iam, got "gssapi"`}},
		{"sasl without password", "  topics: [payments]\n", "  topics: [payments]\n  sasl:\n    mechanism: plain\n    username: u\n", []string{"kafka.sasl: exactly one of password_env and password_file"}},
		{"session timeout too short", "  topics: [payments]\n", "  topics: [payments]\n  session_timeout: 2s\n", []string{"test.yaml:6: kafka.session_timeout: must be 6s to 30m0s (the brokers' default bounds), got 2s"}},
		{"rebalance timeout zero", "  topics: [payments]\n", "  topics: [payments]\n  rebalance_timeout: 0s\n", []string{"test.yaml:6: kafka.rebalance_timeout: must be more than 0"}},
		{"heartbeat too slow", "  topics: [payments]\n", "  topics: [payments]\n  session_timeout: 10s\n  heartbeat_interval: 4s\n", []string{"test.yaml:7: kafka.heartbeat_interval: must be more than 0 and at most a third of kafka.session_timeout (10s), got 4s"}},
		{"unknown balancer", "  topics: [payments]\n", "  topics: [payments]\n  balancer: sticky-cooperative\n", []string{`test.yaml:6: kafka.balancer: want cooperative-sticky, sticky, range or roundrobin, got "sticky-cooperative"`}},
		{"bad instance id", "  topics: [payments]\n", "  topics: [payments]\n  instance_id: relay 0\n", []string{`test.yaml:6: kafka.instance_id: want 1 to 249 of A-Z a-z 0-9 . _ -, got "relay 0"`}},
		{"instance id too long", "  topics: [payments]\n", "  topics: [payments]\n  instance_id: " + strings.Repeat("r", 250) + "\n", []string{`test.yaml:6: kafka.instance_id: want 1 to 249 of A-Z a-z 0-9 . _ -, got "` + strings.Repeat("r", 250) + `"`}},
		{"tls files without tls", "  topics: [payments]\n", "  topics: [payments]\n  tls:\n    ca_file: /ca.pem\n", []string{"kafka.tls.enabled: TLS settings are given but enabled is false"}},
		{"listen port out of range", "dlq:\n", "observability:\n  listen: \":99999\"\ndlq:\n", []string{`test.yaml:13: observability.listen: want a port 0 to 65535 (such as :9090), got ":99999"`}},
		{"listen without port", "dlq:\n", "observability:\n  listen: \"9090\"\ndlq:\n", []string{`test.yaml:13: observability.listen: want host:port or :port (such as :9090), got "9090"`}},
		{"bad log level", "dlq:\n", "observability:\n  log_level: loud\ndlq:\n", []string{`observability.log_level: want debug, info, warn or error, got "loud"`}},
		{"route topic not consumed", "      topic: payments\n", "      topic: bets\n", []string{`test.yaml:17: routing.routes[0].topic: "bets" is not consumed`}},
		{"unknown destination", "      model: deposit\n", "      model: deposit\n      destination: other\n", []string{`routing.routes[0].destination: no destination named "other"`}},
		{"condition two tests", "      model: deposit\n", "      model: deposit\n      when: {path: type, equals: a, exists: true}\n", []string{`routing.routes[0].when: want exactly one of equals, in, exists, matches with path "type"`}},
		{"condition mixed", "      model: deposit\n", "      model: deposit\n      when: {path: type, all: [{path: a, exists: true}]}\n", []string{"routing.routes[0].when: a condition is either a test"}},
		{"condition bad regex", "      model: deposit\n", "      model: deposit\n      when: {path: type, matches: '('}\n", []string{"routing.routes[0].when.matches: invalid regular expression"}},
		{"nested condition", "      model: deposit\n", "      model: deposit\n      when: {any: [{path: a, exists: true}, {not: {path: b}}]}\n", []string{`routing.routes[0].when.any[1].not: want exactly one of equals, in, exists, matches with path "b"`}},
		{"skip route with model", "      model: deposit\n", "      model: deposit\n      skip: true\n", []string{"routing.routes[0].skip: a skip route has no model, fields or outputs"}},
		{"unmatched", "routing:\n", "routing:\n  unmatched: drop\n", []string{`routing.unmatched: want dlq or skip, got "drop"`}},
		{"tombstones", "routing:\n", "routing:\n  tombstones: drop\n", []string{`test.yaml:15: routing.tombstones: want dlq or skip, got "drop"`}},
		{"empty", "routing:\n", "routing:\n  empty: dead_letter\n", []string{`test.yaml:15: routing.empty: want dlq or skip, got "dead_letter"`}},
		{"duplicate keys", "routing:\n", "routing:\n  duplicate_keys: first\n", []string{`test.yaml:15: routing.duplicate_keys: want last or refuse, got "first"`}},
		{"list for scalar", "  group: relay\n", "  group: [a, b]\n", []string{"kafka.group: want a single value, got a list"}},
		{"not yaml", "  group: relay\n", "  group: relay\n\t bad", []string{"test.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(edit(t, tt.old, tt.new)), "test.yaml")
			if err == nil {
				t.Fatalf("got no error, want %q", tt.wants)
			}
			if !errors.Is(err, ErrInvalid) && tt.name != "not yaml" {
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

func TestParseListsEveryProblem(t *testing.T) {
	src := strings.Replace(minimal, "  group: relay\n", "  group: relay\n  groop: x\n", 1)
	src = strings.Replace(src, "dlq:\n", "sink:\n  linger: 5x\n  batch_size: 0\ndlq:\n", 1)
	_, err := Parse([]byte(src), "c.yaml")
	if err == nil {
		t.Fatal("got no error")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"c.yaml:5: kafka.groop: unknown key",
		`c.yaml:14: sink.linger: invalid duration "5x"`,
		"c.yaml:15: sink.batch_size: must be 1 to 500, got 0",
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

// TestInstanceIDLongest checks that Kafka's longest group.instance.id, of
// every character it allows, is accepted.
func TestInstanceIDLongest(t *testing.T) {
	id := "Az09._-" + strings.Repeat("r", 242)
	cfg, err := Parse([]byte(edit(t, "  topics: [payments]\n", "  topics: [payments]\n  instance_id: "+id+"\n")), "test.yaml")
	if err != nil {
		t.Fatalf("%d characters: got %v, want no error", len(id), err)
	}
	if cfg.Kafka.InstanceID != id {
		t.Errorf("got instance id %q, want %q", cfg.Kafka.InstanceID, id)
	}
}

func TestParseTemplate(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "${first} ${last}", want: "{first}| |{last}"},
		{in: "id-${ player.id }", want: "id-|{player.id}"},
		{in: "cost $$5", want: "cost $5"},
		{in: "plain", want: "plain"},
		{in: "x ${a", err: "unclosed ${ at offset 2"},
		{in: "x ${}", err: "empty ${} at offset 2"},
		{in: "5$", err: "lone $ at offset 1 (write $$ for a dollar sign)"},
	}
	for _, tt := range tests {
		parts, err := ParseTemplate(tt.in)
		var got []string
		for _, p := range parts {
			if p.Path != "" {
				got = append(got, "{"+p.Path+"}")
			} else {
				got = append(got, p.Literal)
			}
		}
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if strings.Join(got, "|") != tt.want || gotErr != tt.err {
			t.Errorf("ParseTemplate(%q) = %q, %q; want %q, %q", tt.in, strings.Join(got, "|"), gotErr, tt.want, tt.err)
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	tests := []struct {
		code string
		over map[string]int
		want int
		ok   bool
	}{
		{"EUR", nil, 2, true},
		{"USD", nil, 2, true},
		{"JPY", nil, 0, true},
		{"KWD", nil, 3, true},
		{"CLF", nil, 4, true},
		{"BTC", nil, 0, false},
		{"BTC", map[string]int{"BTC": 8}, 8, true},
		{"EUR", map[string]int{"EUR": 3}, 3, true},
		{"eur", nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := CurrencyExponent(tt.code, tt.over)
		if got != tt.want || ok != tt.ok {
			t.Errorf("CurrencyExponent(%q, %v) = %d, %v; want %d, %v", tt.code, tt.over, got, ok, tt.want, tt.ok)
		}
	}
}

func TestExampleConfig(t *testing.T) {
	c, err := Load("../../config.example.yaml")
	if err != nil {
		t.Fatalf("the example configuration does not load:\n%v", err)
	}
	models := map[string]bool{}
	for _, r := range c.Routing.Routes {
		if !r.Skip {
			models[r.Model] = true
		}
	}
	if len(models) != 9 {
		t.Errorf("example routes reach %d models, want 9: %v", len(models), models)
	}
	if d := c.Destinations[0]; d.Name != "main" || d.TokenEnv != "OPTIKPI_TOKEN" {
		t.Errorf("destination: got %+v, want main with token_env OPTIKPI_TOKEN", d)
	}
	// iddoc_verification merges the bank rule (<<: *kyc_status) and
	// overrides its path.
	var bank, iddoc *FieldRule
	for i, f := range c.Routing.Routes[0].Fields {
		switch f.Target {
		case "bank_verification":
			bank = &c.Routing.Routes[0].Fields[i]
		case "iddoc_verification":
			iddoc = &c.Routing.Routes[0].Fields[i]
		}
	}
	if bank == nil || iddoc == nil {
		t.Fatal("no bank_verification or iddoc_verification rule in the first route")
	}
	if iddoc.Path != "kyc.id_document_status" || iddoc.Fallback != "NotVerified" || iddoc.Map["APPROVED"] != "Verified" || bank.Path != "kyc.bank_status" {
		t.Errorf("merge: got bank %+v, iddoc %+v", bank, iddoc)
	}
}

func TestMergeAndDuplicateKeys(t *testing.T) {
	src := strings.Replace(minimal, "dlq:\n", "base: &b\n  linger: 1s\n  in_flight: 2\nsink:\n  <<: *b\n  in_flight: 8\ndlq:\n", 1)
	_, err := Parse([]byte(src), "m.yaml")
	if err == nil || !strings.Contains(err.Error(), "m.yaml:12: base: unknown key") {
		t.Fatalf("got %v, want only the unknown key base", err)
	}
	src = strings.Replace(minimal, "dlq:\n", "sink:\n  <<: {linger: 1s, in_flight: 2}\n  in_flight: 8\ndlq:\n", 1)
	c, err := Parse([]byte(src), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Sink.Linger != time.Second || c.Sink.InFlight != 8 {
		t.Errorf("got linger %s, in_flight %d; want 1s (merged), 8 (overridden)", c.Sink.Linger, c.Sink.InFlight)
	}
	src = strings.Replace(minimal, "  group: relay\n", "  group: relay\n  group: other\n", 1)
	if _, err := Parse([]byte(src), "m.yaml"); err == nil || !strings.Contains(err.Error(), "kafka.group") {
		t.Errorf("duplicate key: got %v, want an error naming kafka.group", err)
	}
}

// A rate limit that is not a number is one problem, not also one of a
// limit of 0 (the value it decoded to).
func TestParseRateLimitNotANumber(t *testing.T) {
	_, err := Parse([]byte(edit(t, "dlq:\n", "sink:\n  rate_limits:\n    deposit: fast\ndlq:\n")), "test.yaml")
	want := `test.yaml:14: sink.rate_limits.deposit: want a number, got "fast"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want only %q", err, want)
	}
}

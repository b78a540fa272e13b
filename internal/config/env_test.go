package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "alpha", "EMPTY": "", "DOLLAR": "$x${A}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want, wantErr string
	}{
		{"plain", "plain", ""},
		{"${A}", "alpha", ""},
		{"pre-${A}-post", "pre-alpha-post", ""},
		{"${A}${A}", "alphaalpha", ""},
		{"${UNSET:-dflt}", "dflt", ""},
		{"${EMPTY:-dflt}", "dflt", ""}, // as in the shell
		{"${EMPTY}", "", ""},
		{"${A:-dflt}", "alpha", ""},
		{"${UNSET:-}", "", ""},
		{"$${A}", "${A}", ""},
		{"a$$b", "a$b", ""},
		{"$.path and $", "$.path and $", ""},
		{"${DOLLAR}", "$x${A}", ""}, // a value is never expanded again
		{"${UNSET}", "", "environment variable UNSET is not set"},
		{"${A", "", "unterminated"},
		{"${1X}", "", "not a variable name"},
		{"${}", "", "not a variable name"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, lookup)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("expand(%q): got %q, %v; want error %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("expand(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseEnv(t *testing.T) {
	t.Setenv("KAFKA_BROKERS", "b1:9092, b2:9092,")
	t.Setenv("GROUP", "from-env")
	t.Setenv("BATCH", "250")
	t.Setenv("INJECT", "x\nsink: {batch_size: 1}")
	t.Setenv("FIRST_NAME", "should not appear")
	t.Setenv("EXTRA_TOPIC", "a{1,2}")
	cfg := strings.NewReplacer(
		"brokers: [localhost:9092]", `brokers: ["${KAFKA_BROKERS}", "other:${PORT:-9093}"]`,
		"group: relay", "group: ${GROUP}",
		"topics: [payments]", `topics: [payments, "${EXTRA_TOPIC}"]`,
		"dlq:\n", "sink:\n  batch_size: ${BATCH}\n  linger: ${LINGER:-1s}\ndlq:\n",
		"account_id: acc", "account_id: ${INJECT}",
		"topic: optikpi.dlq", "topic: $${literal}",
		"event_name: {const: Successful Deposit}", `event_name: {template: "${FIRST_NAME} deposit"}`,
	).Replace(minimal)
	c, err := Parse([]byte(cfg), "test.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"brokers (split)", strings.Join(c.Kafka.Brokers, ","), "b1:9092,b2:9092,other:9093"},
		{"group", c.Kafka.Group, "from-env"},
		{"topics (not split)", strings.Join(c.Kafka.Topics, " "), "payments a{1,2}"},
		{"batch_size (integer from a variable)", c.Sink.BatchSize, 250},
		{"linger (default)", c.Sink.Linger, time.Second},
		{"account_id (no structure injected)", c.Destinations[0].AccountID, "x\nsink: {batch_size: 1}"},
		{"dlq.topic ($$)", c.DLQ.Topic, "${literal}"},
		{"routing is not substituted", c.Routing.Routes[0].Fields[1].Template, "${FIRST_NAME} deposit"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s: got %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestParseEnvMissing(t *testing.T) {
	cfg := strings.NewReplacer(
		"brokers: [localhost:9092]", `brokers: ["${NO_SUCH_BROKERS}"]`,
		"token_env: OPTIKPI_TOKEN", "token_env: OPTIKPI_TOKEN\n    token_file: ${NO_SUCH_FILE}",
	).Replace(minimal)
	_, err := Parse([]byte(cfg), "test.yaml")
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"test.yaml:3: kafka.brokers[0]: environment variable NO_SUCH_BROKERS is not set (give a default with ${NO_SUCH_BROKERS:-value})",
		"test.yaml:12: destinations[0].token_file: environment variable NO_SUCH_FILE is not set (give a default with ${NO_SUCH_FILE:-value})",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("got\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

// Package config loads and validates the relay's YAML configuration.
package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// ErrInvalid is matched by every error of Load and Parse that is about the
// content of the file (not about reading it).
var ErrInvalid = errors.New("config: invalid")

// Config is the whole configuration file. Parse fills every default.
type Config struct {
	Kafka         Kafka         `yaml:"kafka"`
	Destinations  []Destination `yaml:"destinations"`
	Sink          Sink          `yaml:"sink"`
	DLQ           DLQ           `yaml:"dlq"`
	Observability Observability `yaml:"observability"`
	Shutdown      Shutdown      `yaml:"shutdown"`
	Routing       Routing       `yaml:"routing"`

	// Source names the file the configuration came from, for messages.
	Source string `yaml:"-"`
	// lines maps key paths to their lines, for the messages of Problems.
	lines map[string]int
}

// Kafka is the consumer's side.
type Kafka struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string `yaml:"brokers"`
	// Group is the consumer group. Required.
	Group string `yaml:"group"`
	// Topics are the topics consumed; regular expressions when TopicRegex.
	Topics []string `yaml:"topics"`
	// TopicRegex makes Topics regular expressions. Default false.
	TopicRegex bool `yaml:"topic_regex"`
	// ClientID is the Kafka client id. Default "optikpi-relay".
	ClientID string `yaml:"client_id"`
	TLS      TLS    `yaml:"tls"`
	SASL     SASL   `yaml:"sasl"`
	// MaxInFlightRecords bounds the records fetched but not yet done
	// (delivered or dead-lettered). Default 10000.
	MaxInFlightRecords int `yaml:"max_in_flight_records"`
	// MaxInFlightBytes bounds the bytes (key, value and headers) of those
	// records, so that large records cannot outgrow the pod's memory.
	// Default 64 MiB, at least 1 MiB; a single larger record still passes.
	MaxInFlightBytes int `yaml:"max_in_flight_bytes"`
	// FetchMaxBytes caps one fetch response from a broker
	// (fetch.max.bytes). Default 0: a quarter of MaxInFlightBytes, at most
	// 4 MiB. At most MaxInFlightBytes.
	FetchMaxBytes int `yaml:"fetch_max_bytes"`
	// FetchMaxPartitionBytes caps what one fetch brings from one partition
	// (max.partition.fetch.bytes). Default 256 KiB, chosen from relay
	// bench (example.yaml); at most FetchMaxBytes.
	FetchMaxPartitionBytes int `yaml:"fetch_max_partition_bytes"`
	// FetchMaxWait is how long a broker may hold a fetch while it has no
	// record to return (fetch.max.wait.ms); it answers as soon as it has
	// one, so this bounds idle fetches and how soon a partition resumed
	// after a stalled destination is fetched again. Default 500ms (Kafka's;
	// kgo's is 5s); 10ms to 1m.
	FetchMaxWait time.Duration `yaml:"fetch_max_wait"`
	// MaxConcurrentFetches bounds the fetches in flight across all
	// brokers. Default 0: one per broker.
	MaxConcurrentFetches int `yaml:"max_concurrent_fetches"`
	// CommitInterval is the least time between two commits: done
	// offsets are committed as soon as they advance, at most once per
	// interval. Default 1s.
	CommitInterval time.Duration `yaml:"commit_interval"`
	// SessionTimeout is how long the group waits for a silent member
	// before giving its partitions to others (session.timeout.ms).
	// Default 45s; within the brokers' group.min/max.session.timeout.ms
	// (6s to 30m by default).
	SessionTimeout time.Duration `yaml:"session_timeout"`
	// RebalanceTimeout is how long the group waits for every member to
	// rejoin in a rebalance (rebalance.timeout.ms). Default 60s.
	RebalanceTimeout time.Duration `yaml:"rebalance_timeout"`
	// HeartbeatInterval is how often the member tells the group it lives
	// (heartbeat.interval.ms). Default 3s; at most a third of
	// SessionTimeout.
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	// Balancer assigns partitions to members: cooperative-sticky
	// (default: a rebalance moves only the partitions that must move),
	// sticky, range or roundrobin. Every member of a group must share one.
	Balancer string `yaml:"balancer"`
	// InstanceID makes the member static (KIP-345, group.instance.id): a
	// member restarted with the same id within SessionTimeout gets its
	// partitions back without a rebalance. Unique per replica and stable
	// across its restarts, such as a StatefulSet pod's name
	// ("${POD_NAME}"). Default empty: a dynamic member.
	InstanceID string `yaml:"instance_id"`
}

// The values of Kafka.Balancer.
const (
	BalancerCooperativeSticky = "cooperative-sticky"
	BalancerSticky            = "sticky"
	BalancerRange             = "range"
	BalancerRoundRobin        = "roundrobin"
)

// TLS configures TLS to the brokers.
type TLS struct {
	Enabled   bool `yaml:"enabled"`
	ClientTLS `yaml:",inline"`
}

// ClientTLS is how a client checks its server and proves itself: to the
// brokers (kafka.tls) and to the Optikpi API (sink.tls).
type ClientTLS struct {
	// CAFile is a PEM bundle of the CAs to trust; default the system's.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (mutual TLS); both or
	// neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name the server's certificate must carry;
	// default the host dialled.
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// The values of SASL.Mechanism.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
	SASLOAuthBearer = "oauthbearer"
	SASLAWSMSKIAM   = "aws-msk-iam"
)

// SASL configures SASL authentication to the brokers.
type SASL struct {
	// Mechanism is "" (none), "plain", "scram-sha-256", "scram-sha-512",
	// "oauthbearer" or "aws-msk-iam".
	Mechanism string `yaml:"mechanism"`
	// Username is required by plain and SCRAM.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable holding the password;
	// PasswordFile is a file holding it. Exactly one with plain and SCRAM.
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// TokenEnv and TokenFile hold the OAUTHBEARER token, exactly one with
	// oauthbearer. They are read on every authentication, so a rotated
	// file is used from the next connection on.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
	// aws-msk-iam takes no keys: its credentials come from the AWS default
	// chain (internal/awscreds: environment, web identity, container,
	// instance metadata).
}

// Destination is one Optikpi workspace. An operator with several brands has
// several workspaces, so several destinations.
type Destination struct {
	// Name is what routes refer to. Required, unique.
	Name string `yaml:"name"`
	// BaseURL is the API base, such as https://gw.example.com/apigw/ingest.
	BaseURL     string `yaml:"base_url"`
	AccountID   string `yaml:"account_id"`
	WorkspaceID string `yaml:"workspace_id"`
	// TokenEnv names the environment variable holding the API token;
	// TokenFile is a file holding it (a mounted Kubernetes Secret). Exactly
	// one of the two: the token itself never lives in the file.
	TokenEnv  string `yaml:"token_env"`
	TokenFile string `yaml:"token_file"`
}

// Sink is batching and delivery to Optikpi.
type Sink struct {
	// BatchSize is the most records in one request, 1 to 500. Default 500.
	BatchSize int `yaml:"batch_size"`
	// MaxBatchBytes caps a request body. Default 1 MiB; at most 6 MiB, the
	// payload limit of the serverless gateway behind the API.
	MaxBatchBytes int `yaml:"max_batch_bytes"`
	// Linger is how long a partial batch waits for more records. Default
	// 200ms.
	Linger time.Duration `yaml:"linger"`
	// InFlight is the most concurrent requests per destination and
	// endpoint. Default 4.
	InFlight int `yaml:"in_flight"`
	// RateLimits are requests per second keyed by model name ("customer",
	// "deposit", …; the names are checked by mapper.New). Models not
	// listed get the guide's limits in the sink: 50 for customer and
	// ext_attributes, 250 for the event models.
	RateLimits map[string]float64 `yaml:"rate_limits"`
	// RequestTimeout bounds one HTTP request. Default 30s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	Retry          Retry         `yaml:"retry"`
	// TLS is how the API's server certificate is checked (a corporate
	// CA, say) and the client certificate offered, for every destination.
	TLS ClientTLS `yaml:"tls"`
	// ProxyURL is the proxy every request to the API goes through, such
	// as http://proxy.internal:3128. Default: the standard HTTPS_PROXY,
	// HTTP_PROXY and NO_PROXY environment variables.
	ProxyURL string `yaml:"proxy_url"`
	// MisconfiguredRetry is how long to wait before retrying a batch that
	// failed with 401, 403, 404 or a 4xx that is not the API's answer
	// (a proxy's). Default 30s.
	MisconfiguredRetry time.Duration `yaml:"misconfigured_retry"`
	// Strict validates records with the official SDKs' stricter rules too,
	// so that what a strict server would reject goes to the dead-letter
	// topic without a request. Default false.
	Strict bool `yaml:"strict"`
}

// Retry is the backoff of throttled and transient failures.
type Retry struct {
	// InitialBackoff is the first wait. Default 200ms.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the wait. Default 30s.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxAttempts bounds the attempts of one batch; 0 (the default) retries
	// until delivered, since giving up means a dead letter.
	MaxAttempts int `yaml:"max_attempts"`
}

// DLQ is the dead-letter topic.
type DLQ struct {
	// Topic receives every record that could not be delivered, with the
	// reason in its headers. Required; must not be a consumed topic.
	Topic string `yaml:"topic"`
	// MaxMessageBytes caps a dead letter's record batch, as the topic's
	// max.message.bytes does on the broker; the relay takes the smaller of
	// the two when it can read the topic's. A dead letter that does not
	// fit is written without the original value, with headers saying so.
	// Default 1048588, Kafka's default; 32 KiB to 100 MiB.
	MaxMessageBytes int `yaml:"max_message_bytes"`
}

// Observability is logs, metrics and health.
type Observability struct {
	// Listen is the address of /metrics, /healthz and /readyz. Default
	// ":9090".
	Listen string `yaml:"listen"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// LogFormat is json or console. Default json.
	LogFormat string `yaml:"log_format"`
	// ServerTimeouts bound the connections of the listener.
	ServerTimeouts ServerTimeouts `yaml:"server_timeouts"`
}

// ServerTimeouts are those of the /metrics, /healthz and /readyz listener,
// so that a slow or stuck client cannot hold a connection open forever.
// The defaults are telemetry.DefaultTimeouts: read_header 5s, read 10s,
// write 30s (it must outlast the slowest scrape), idle 2m.
type ServerTimeouts struct {
	ReadHeader time.Duration `yaml:"read_header"`
	Read       time.Duration `yaml:"read"`
	Write      time.Duration `yaml:"write"`
	Idle       time.Duration `yaml:"idle"`
}

// Shutdown is the graceful drain on SIGTERM.
type Shutdown struct {
	// Timeout bounds the drain. Default 25s; must be under 30s,
	// Kubernetes' default termination grace period.
	Timeout time.Duration `yaml:"timeout"`
}

// The values of Routing.Unmatched, Tombstones and Empty.
const (
	UnmatchedDLQ  = "dlq"
	UnmatchedSkip = "skip"
)

// The values of Routing.DuplicateKeys.
const (
	DuplicateKeysLast   = "last"
	DuplicateKeysRefuse = "refuse"
)

// Routing turns Kafka records into Optikpi records.
type Routing struct {
	// Unmatched is what happens to a record no route matches: "dlq" (the
	// default) dead-letters it with reason unrouted, "skip" counts and
	// drops it.
	Unmatched string `yaml:"unmatched"`
	// Tombstones is what happens to a record with no value (a delete on
	// a compacted topic), and Empty to one whose value is empty or only
	// white space: "dlq" (the default) dead-letters it as unparseable,
	// "skip" counts and drops it.
	Tombstones string `yaml:"tombstones"`
	Empty      string `yaml:"empty"`
	// DuplicateKeys is what happens to a value with a key twice in one
	// object: "last" (the default) reads the last, as encoding/json and
	// JavaScript do; "refuse" dead-letters it as unparseable.
	DuplicateKeys string `yaml:"duplicate_keys"`
	// Routes are tried in order; the first whose topic and condition match
	// a record wins.
	Routes []Route `yaml:"routes"`
}

// Default returns the configuration with every default filled and nothing
// required set.
func Default() Config {
	return Config{
		Kafka: Kafka{
			ClientID:           "optikpi-relay",
			MaxInFlightRecords: 10000,
			MaxInFlightBytes:   64 << 20,
			CommitInterval:     time.Second,
			SessionTimeout:     45 * time.Second,
			RebalanceTimeout:   60 * time.Second,
			HeartbeatInterval:  3 * time.Second,
			Balancer:           BalancerCooperativeSticky,

			FetchMaxPartitionBytes: 256 << 10,
			FetchMaxWait:           500 * time.Millisecond,
		},
		Sink: Sink{
			BatchSize:      500,
			MaxBatchBytes:  1 << 20,
			Linger:         200 * time.Millisecond,
			InFlight:       4,
			RequestTimeout: 30 * time.Second,
			Retry: Retry{
				InitialBackoff: 200 * time.Millisecond,
				MaxBackoff:     30 * time.Second,
			},
			MisconfiguredRetry: 30 * time.Second,
		},
		Observability: Observability{Listen: ":9090", LogLevel: "info", LogFormat: "json",
			ServerTimeouts: ServerTimeouts(telemetry.DefaultTimeouts())},
		Shutdown: Shutdown{Timeout: 25 * time.Second},
		DLQ:      DLQ{MaxMessageBytes: DefaultDLQMaxMessageBytes},
		Routing:  Routing{Unmatched: UnmatchedDLQ, Tombstones: UnmatchedDLQ, Empty: UnmatchedDLQ, DuplicateKeys: DuplicateKeysLast},
	}
}

// Load reads and parses the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes data strictly (an unknown key is an error), fills defaults
// and validates all that needs no knowledge of the API's models: the
// routes' models, fields and rules are checked by the mapper's compile
// (mapper.New), which reports through Problems. source names the data in
// messages. The error lists every
// problem found, each as "source:line: key.path: what is wrong", joined
// with errors.Join; each matches ErrInvalid.
func Parse(data []byte, source string) (*Config, error) {
	cfg := Default()
	cfg.Source = source
	p := cfg.Problems()
	lines := decodeFile(data, &cfg, p)
	if lines != nil {
		validate(&cfg, lines, p)
	}
	cfg.lines = lines
	if err := p.Err(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// Problems returns a collector of the problems a later stage finds in c,
// such as the mapper's checks of the routes against the API's models:
// each is reported as Parse reports its own, "source:line: key: what is
// wrong", and matches ErrInvalid.
func (c *Config) Problems() *Problems {
	return &Problems{source: cmp.Or(c.Source, "config"), lines: c.lines}
}

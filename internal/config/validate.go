package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The limits validate enforces.
const (
	MaxBatchSize     = 500     // records per request, the API's limit
	MaxBatchBytesCap = 6 << 20 // the serverless gateway's payload limit
	MaxShutdown      = 30 * time.Second

	// MinInFlightBytes is the least kafka.max_in_flight_bytes: below
	// Kafka's default record size limit, most large records would each
	// pause fetching.
	MinInFlightBytes = 1 << 20

	// DefaultDLQMaxMessageBytes is Kafka's default max.message.bytes.
	DefaultDLQMaxMessageBytes = 1048588
	// MinDLQMessageBytes leaves room for the relay's own headers (an
	// error message and an API error of up to 8 KiB each) once a dead
	// letter has gone without the original value, key and headers;
	// MaxDLQMessageBytes is the Kafka client's default request limit,
	// which a record batch must fit in.
	MinDLQMessageBytes = 32 << 10
	MaxDLQMessageBytes = 100 << 20
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkName reports name at key when missing, not of namePattern, or
// already seen among the names of what; and marks it seen.
func checkName(name, key, what string, seen map[string]bool, p *Problems) {
	switch {
	case name == "":
		p.Add(key, "required")
	case !namePattern.MatchString(name):
		p.Add(key, "want letters, digits, '.', '_' or '-', got %q", name)
	case seen[name]:
		p.Add(key, "duplicate %s %q", what, name)
	}
	seen[name] = true
}

func validate(c *Config, lines map[string]int, p *Problems) {
	validateKafka(&c.Kafka, p)
	validateDestinations(c.Destinations, p)
	validateSink(&c.Sink, p)
	validateDLQ(c, p)
	validateObservability(&c.Observability, p)
	if c.Shutdown.Timeout <= 0 || c.Shutdown.Timeout >= MaxShutdown {
		p.Add("shutdown.timeout", "must be more than 0 and less than %s (Kubernetes' default grace period), got %s", MaxShutdown, c.Shutdown.Timeout)
	}
	validateRouting(c, p)
}

// The session timeouts Kafka brokers accept by default
// (group.min.session.timeout.ms and group.max.session.timeout.ms).
const (
	MinSessionTimeout = 6 * time.Second
	MaxSessionTimeout = 30 * time.Minute
)

// maxInstanceID is the longest group.instance.id Kafka accepts; its
// characters are those of namePattern. A length check beside namePattern
// rather than a {1,249} pattern, whose compiled program (thousands of
// instructions, every start-up) costs more than the whole rest of the
// package's init.
const maxInstanceID = 249

// validateGroup checks the consumer-group settings.
func validateGroup(k *Kafka, p *Problems) {
	if k.SessionTimeout < MinSessionTimeout || k.SessionTimeout > MaxSessionTimeout {
		p.Add("kafka.session_timeout", "must be %s to %s (the brokers' default bounds), got %s", MinSessionTimeout, MaxSessionTimeout, k.SessionTimeout)
	}
	if k.RebalanceTimeout <= 0 || k.RebalanceTimeout > MaxSessionTimeout {
		p.Add("kafka.rebalance_timeout", "must be more than 0 and at most %s, got %s", MaxSessionTimeout, k.RebalanceTimeout)
	}
	if k.HeartbeatInterval <= 0 || 3*k.HeartbeatInterval > k.SessionTimeout {
		p.Add("kafka.heartbeat_interval", "must be more than 0 and at most a third of kafka.session_timeout (%s), got %s", k.SessionTimeout, k.HeartbeatInterval)
	}
	switch k.Balancer {
	case BalancerCooperativeSticky, BalancerSticky, BalancerRange, BalancerRoundRobin:
	default:
		p.Add("kafka.balancer", "want %s, %s, %s or %s, got %q", BalancerCooperativeSticky, BalancerSticky, BalancerRange, BalancerRoundRobin, k.Balancer)
	}
	if id := k.InstanceID; id != "" && (len(id) > maxInstanceID || !namePattern.MatchString(id)) {
		p.Add("kafka.instance_id", "want 1 to 249 of A-Z a-z 0-9 . _ -, got %q", k.InstanceID)
	}
}

// The bounds of kafka.fetch_max_wait.
const (
	MinFetchMaxWait = 10 * time.Millisecond
	MaxFetchMaxWait = time.Minute
)

// validateFetch checks the fetch sizes against each other and the bytes in
// flight, which a fetch adds to.
func validateFetch(k *Kafka, p *Problems) {
	switch {
	case k.FetchMaxBytes > math.MaxInt32:
		p.Add("kafka.fetch_max_bytes", "must be at most %d (Kafka's fetch sizes are 32-bit), got %d", math.MaxInt32, k.FetchMaxBytes)
	case k.FetchMaxBytes < 0 || k.FetchMaxBytes > k.MaxInFlightBytes:
		p.Add("kafka.fetch_max_bytes", "must be 0 (a quarter of kafka.max_in_flight_bytes, at most 4 MiB) to kafka.max_in_flight_bytes (%d), got %d", k.MaxInFlightBytes, k.FetchMaxBytes)
	}
	switch {
	case k.FetchMaxPartitionBytes > math.MaxInt32:
		p.Add("kafka.fetch_max_partition_bytes", "must be at most %d (Kafka's fetch sizes are 32-bit), got %d", math.MaxInt32, k.FetchMaxPartitionBytes)
	case k.FetchMaxPartitionBytes < 1:
		p.Add("kafka.fetch_max_partition_bytes", "must be at least 1, got %d", k.FetchMaxPartitionBytes)
	case k.FetchMaxBytes > 0 && k.FetchMaxPartitionBytes > k.FetchMaxBytes:
		p.Add("kafka.fetch_max_partition_bytes", "must be at most kafka.fetch_max_bytes (%d), got %d", k.FetchMaxBytes, k.FetchMaxPartitionBytes)
	}
	if k.FetchMaxWait < MinFetchMaxWait || k.FetchMaxWait > MaxFetchMaxWait {
		p.Add("kafka.fetch_max_wait", "must be %s to %s, got %s", MinFetchMaxWait, MaxFetchMaxWait, k.FetchMaxWait)
	}
	if k.MaxConcurrentFetches < 0 {
		p.Add("kafka.max_concurrent_fetches", "must be 0 (one per broker) or more, got %d", k.MaxConcurrentFetches)
	}
}

func validateKafka(k *Kafka, p *Problems) {
	if len(k.Brokers) == 0 {
		p.Add("kafka.brokers", "required: at least one host:port")
	}
	for i, b := range k.Brokers {
		if _, port, ok := strings.Cut(b, ":"); !ok || port == "" {
			p.Add(fmt.Sprintf("kafka.brokers[%d]", i), "want host:port, got %q", b)
		}
	}
	if k.Group == "" {
		p.Add("kafka.group", "required: the consumer group")
	}
	if len(k.Topics) == 0 {
		p.Add("kafka.topics", "required: at least one topic")
	}
	for i, t := range k.Topics {
		key := fmt.Sprintf("kafka.topics[%d]", i)
		switch {
		case t == "":
			p.Add(key, "empty topic")
		case k.TopicRegex:
			if _, err := regexp.Compile(t); err != nil {
				p.Add(key, "invalid regular expression: %v", err)
			}
		}
	}
	if k.ClientID == "" {
		p.Add("kafka.client_id", "must not be empty")
	}
	if k.MaxInFlightRecords < 1 {
		p.Add("kafka.max_in_flight_records", "must be at least 1, got %d", k.MaxInFlightRecords)
	}
	if k.MaxInFlightBytes < MinInFlightBytes {
		p.Add("kafka.max_in_flight_bytes", "must be at least %d (1 MiB), got %d", MinInFlightBytes, k.MaxInFlightBytes)
	}
	if k.CommitInterval <= 0 {
		p.Add("kafka.commit_interval", "must be more than 0, got %s", k.CommitInterval)
	}
	validateFetch(k, p)
	validateGroup(k, p)
	t := k.TLS
	if !t.Enabled && !t.ClientTLS.IsZero() {
		p.Add("kafka.tls.enabled", "TLS settings are given but enabled is false; set enabled: true or remove them")
	}
	validateClientTLS(t.ClientTLS, "kafka.tls", p)
	validateSASL(k.SASL, p)
	if k.SASL.Mechanism == SASLAWSMSKIAM && !t.Enabled {
		p.Add("kafka.tls.enabled", "aws-msk-iam needs TLS: MSK offers IAM only on its TLS listeners (port 9098); set enabled: true")
	}
}

func validateClientTLS(t ClientTLS, key string, p *Problems) {
	if (t.CertFile == "") != (t.KeyFile == "") {
		p.Add(key+".cert_file", "cert_file and key_file go together")
	}
}

func validateSASL(s SASL, p *Problems) {
	const mechanisms = "plain, scram-sha-256, scram-sha-512, oauthbearer or aws-msk-iam"
	password := s.PasswordEnv != "" || s.PasswordFile != ""
	token := s.TokenEnv != "" || s.TokenFile != ""
	switch s.Mechanism {
	case "":
		if s.Username != "" || password || token {
			p.Add("kafka.sasl.mechanism", "required when SASL credentials are given (%s)", mechanisms)
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if s.Username == "" {
			p.Add("kafka.sasl.username", "required with mechanism %s", s.Mechanism)
		}
		if (s.PasswordEnv == "") == (s.PasswordFile == "") {
			p.Add("kafka.sasl", "exactly one of password_env and password_file is required")
		}
		if token {
			p.Add("kafka.sasl", "token_env and token_file are for oauthbearer, not %s", s.Mechanism)
		}
	case SASLOAuthBearer:
		if (s.TokenEnv == "") == (s.TokenFile == "") {
			p.Add("kafka.sasl", "exactly one of token_env and token_file is required with oauthbearer")
		}
		if s.Username != "" || password {
			p.Add("kafka.sasl", "oauthbearer takes a token (token_env or token_file), not a username or password")
		}
	case SASLAWSMSKIAM:
		if s.Username != "" || password || token {
			p.Add("kafka.sasl", "aws-msk-iam takes its credentials from the AWS default chain (environment, web identity, container, instance metadata); remove username, password and token keys")
		}
	default:
		p.Add("kafka.sasl.mechanism", "want %s, got %q", mechanisms, s.Mechanism)
	}
}

func validateDestinations(ds []Destination, p *Problems) {
	if len(ds) == 0 {
		p.Add("destinations", "required: at least one Optikpi destination")
	}
	seen := map[string]bool{}
	for i, d := range ds {
		key := fmt.Sprintf("destinations[%d]", i)
		checkName(d.Name, key+".name", "destination", seen, p)
		if d.BaseURL == "" {
			p.Add(key+".base_url", "required, such as https://gateway.example.com/apigw/ingest")
		} else if u, err := url.Parse(d.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.Add(key+".base_url", "want an absolute http or https URL, got %q", d.BaseURL)
		}
		if d.AccountID == "" {
			p.Add(key+".account_id", "required")
		}
		if d.WorkspaceID == "" {
			p.Add(key+".workspace_id", "required")
		}
		if (d.TokenEnv == "") == (d.TokenFile == "") {
			p.Add(key, "exactly one of token_env and token_file is required")
		}
	}
}

func validateSink(s *Sink, p *Problems) {
	if s.BatchSize < 1 || s.BatchSize > MaxBatchSize {
		p.Add("sink.batch_size", "must be 1 to %d, got %d", MaxBatchSize, s.BatchSize)
	}
	if s.MaxBatchBytes < 1024 || s.MaxBatchBytes > MaxBatchBytesCap {
		p.Add("sink.max_batch_bytes", "must be 1024 to %d (the gateway's payload limit), got %d", MaxBatchBytesCap, s.MaxBatchBytes)
	}
	if s.Linger < 0 {
		p.Add("sink.linger", "must not be negative, got %s", s.Linger)
	}
	if s.InFlight < 1 {
		p.Add("sink.in_flight", "must be at least 1, got %d", s.InFlight)
	}
	// The names are models', which the mapper's compile checks.
	for _, name := range slices.Sorted(maps.Keys(s.RateLimits)) { // not the map's random order
		if v := s.RateLimits[name]; v <= 0 && !p.reported("sink.rate_limits."+name) {
			p.Add("sink.rate_limits."+name, "must be more than 0 requests per second, got %v", v)
		}
	}
	if s.RequestTimeout <= 0 {
		p.Add("sink.request_timeout", "must be more than 0, got %s", s.RequestTimeout)
	}
	r := s.Retry
	if r.InitialBackoff <= 0 {
		p.Add("sink.retry.initial_backoff", "must be more than 0, got %s", r.InitialBackoff)
	}
	if r.MaxBackoff < r.InitialBackoff {
		p.Add("sink.retry.max_backoff", "must be at least initial_backoff (%s), got %s", r.InitialBackoff, r.MaxBackoff)
	}
	if r.MaxAttempts < 0 {
		p.Add("sink.retry.max_attempts", "must not be negative (0 retries until delivered), got %d", r.MaxAttempts)
	}
	validateClientTLS(s.TLS, "sink.tls", p)
	if s.ProxyURL != "" {
		u, err := url.Parse(s.ProxyURL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			got := "an unparseable URL" // not echoed: it may hold a password
			if err == nil {
				got = strconv.Quote(u.Redacted())
			}
			p.Add("sink.proxy_url", "want an http, https or socks5 URL such as http://proxy.internal:3128, got %s", got)
		}
	}
	if s.MisconfiguredRetry <= 0 {
		p.Add("sink.misconfigured_retry", "must be more than 0, got %s", s.MisconfiguredRetry)
	}
}

func validateDLQ(c *Config, p *Problems) {
	if n := c.DLQ.MaxMessageBytes; n < MinDLQMessageBytes || n > MaxDLQMessageBytes {
		p.Add("dlq.max_message_bytes", "must be %d to %d (the producer's request limit), got %d", MinDLQMessageBytes, MaxDLQMessageBytes, n)
	}
	t := c.DLQ.Topic
	if t == "" {
		p.Add("dlq.topic", "required: the dead-letter topic")
		return
	}
	if consumes(&c.Kafka, t) {
		p.Add("dlq.topic", "%q is also consumed (kafka.topics): dead letters would be relayed again", t)
	}
}

// consumes reports whether the Kafka section consumes topic.
func consumes(k *Kafka, topic string) bool {
	for _, t := range k.Topics {
		if !k.TopicRegex {
			if t == topic {
				return true
			}
			continue
		}
		// Kafka clients anchor topic regexes.
		if re, err := regexp.Compile("^(?:" + t + ")$"); err == nil && re.MatchString(topic) {
			return true
		}
	}
	return false
}

func validateObservability(o *Observability, p *Problems) {
	if o.Listen == "" {
		p.Add("observability.listen", "must not be empty (such as :9090)")
	} else if _, port, err := net.SplitHostPort(o.Listen); err != nil {
		p.Add("observability.listen", "want host:port or :port (such as :9090), got %q", o.Listen)
	} else if _, err := net.LookupPort("tcp", port); err != nil {
		// The check net.Listen makes of the port, so that run does not
		// fail on what validate passed.
		p.Add("observability.listen", "want a port 0 to 65535 (such as :9090), got %q", o.Listen)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"read_header", o.ServerTimeouts.ReadHeader},
		{"read", o.ServerTimeouts.Read},
		{"write", o.ServerTimeouts.Write},
		{"idle", o.ServerTimeouts.Idle},
	} {
		if t.d <= 0 {
			p.Add("observability.server_timeouts."+t.name, "must be more than 0, got %s", t.d)
		}
	}
	switch o.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		p.Add("observability.log_level", "want debug, info, warn or error, got %q", o.LogLevel)
	}
	switch o.LogFormat {
	case "json", "console":
	default:
		p.Add("observability.log_format", "want json or console, got %q", o.LogFormat)
	}
}

func validateRouting(c *Config, p *Problems) {
	r := &c.Routing
	for _, k := range []struct{ key, value string }{{"unmatched", r.Unmatched}, {"tombstones", r.Tombstones}, {"empty", r.Empty}} {
		if k.value != UnmatchedDLQ && k.value != UnmatchedSkip {
			p.Add("routing."+k.key, "want dlq or skip, got %q", k.value)
		}
	}
	if r.DuplicateKeys != DuplicateKeysLast && r.DuplicateKeys != DuplicateKeysRefuse {
		p.Add("routing.duplicate_keys", "want last or refuse, got %q", r.DuplicateKeys)
	}
	if len(r.Routes) == 0 {
		p.Add("routing.routes", "required: at least one route")
	}
	names := map[string]bool{}
	for i := range r.Routes {
		rt := &r.Routes[i]
		key := fmt.Sprintf("routing.routes[%d]", i)
		switch {
		case rt.Name == "":
			p.Add(key+".name", "required")
		case names[rt.Name]:
			p.Add(key+".name", "duplicate route %q", rt.Name)
		}
		names[rt.Name] = true
		if rt.Topic == "" {
			p.Add(key+".topic", "required")
		} else if !consumes(&c.Kafka, rt.Topic) {
			p.Add(key+".topic", "%q is not consumed (kafka.topics)", rt.Topic)
		}
		if rt.When != nil {
			validateCondition(rt.When, key+".when", p)
		}
		if rt.Skip {
			if rt.Model != "" || len(rt.Fields) > 0 || rt.Outputs != nil {
				p.Add(key+".skip", "a skip route has no model, fields or outputs")
			}
			continue
		}
		if rt.Outputs != nil {
			validateOutputs(c, rt, key, p)
			continue
		}
		validateTarget(c, &rt.Destination, key, p)
	}
	validateReachable(r.Routes, p)
}

func validateCondition(c *Condition, key string, p *Problems) {
	branches := 0
	if len(c.All) > 0 {
		branches++
	}
	if len(c.Any) > 0 {
		branches++
	}
	if c.Not != nil {
		branches++
	}
	tests := 0
	if c.Equals != nil {
		tests++
	}
	if c.In != nil {
		tests++
	}
	if c.Exists != nil {
		tests++
	}
	if c.Matches != "" {
		tests++
		if _, err := CompileMatches(c.Matches); err != nil {
			p.Add(key+".matches", "%v", err)
		}
	}
	subject, what := c.Path, "path"
	if c.Meta != "" {
		subject, what = c.Meta, "meta"
		validateConditionMeta(c, key, p)
	}
	switch {
	case branches > 0 && (tests > 0 || c.Path != "" || c.Meta != "" || c.Expr != ""):
		p.Add(key, "a condition is either a test (path or meta with equals, in, exists or matches, or an expr) or one of all, any, not; not both")
	case branches > 1:
		p.Add(key, "want exactly one of all, any, not; nest them to combine")
	case c.Expr != "" && (tests > 0 || c.Path != "" || c.Meta != ""):
		p.Add(key, "expr is a test of its own: no path, meta, equals, in, exists or matches beside it")
	case c.Expr != "":
		// A test of its own; the mapper's compile checks the expression.
	case branches == 0 && c.Path != "" && c.Meta != "":
		p.Add(key, "want a path or a meta, not both")
	case branches == 0 && subject == "":
		p.Add(key, "want a path or a meta with equals, in, exists or matches, an expr, or one of all, any, not")
	case branches == 0 && tests != 1:
		p.Add(key, "want exactly one of equals, in, exists, matches with %s %q", what, subject)
	}
	for i, v := range c.In {
		if !isScalar(v) {
			p.Add(fmt.Sprintf("%s.in[%d]", key, i), "want a string, number or boolean")
		}
	}
	if c.Equals != nil && !isScalar(c.Equals) {
		p.Add(key+".equals", "want a string, number or boolean")
	}
	for i := range c.All {
		validateCondition(&c.All[i], fmt.Sprintf("%s.all[%d]", key, i), p)
	}
	for i := range c.Any {
		validateCondition(&c.Any[i], fmt.Sprintf("%s.any[%d]", key, i), p)
	}
	if c.Not != nil {
		validateCondition(c.Not, key+".not", p)
	}
}

// validateConditionMeta checks a condition on the record's key or a
// header, which are text.
func validateConditionMeta(c *Condition, key string, p *Problems) {
	if _, header := HeaderMeta(c.Meta); c.Meta != MetaKey && !header {
		p.Add(key+".meta", "want key or header:NAME, got %q (an expr reads the topic, partition, offset and timestamp)", c.Meta)
	}
	if _, ok := c.Equals.(string); c.Equals != nil && !ok {
		p.Add(key+".equals", "a key or header is text: quote the value (%q)", fmt.Sprint(c.Equals))
	}
	for i, v := range c.In {
		if _, ok := v.(string); !ok {
			p.Add(fmt.Sprintf("%s.in[%d]", key, i), "a key or header is text: quote the value (%q)", fmt.Sprint(v))
		}
	}
}

// CompileMatches compiles a condition's matches: the one dialect (RE2) and
// the one message of a bad expression, for config.Parse and the mapper.
func CompileMatches(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression: %w", err)
	}
	return re, nil
}

// Scalar returns a condition's YAML constant as what a record's JSON value
// is compared with: a string, a bool or a float64 (for any number); false
// for anything else, which Parse refuses.
func Scalar(v any) (any, bool) {
	switch x := v.(type) {
	case string, bool, float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return nil, false
}

func isScalar(v any) bool {
	_, ok := Scalar(v)
	return ok
}

package pipeline

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kprom"
	"github.com/twmb/franz-go/plugin/kzap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/sink"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// destinations turns the configured destinations into the sink's, with the
// token read from its file or variable; tokens overrides by name.
func destinations(cfg *config.Config, tokens map[string]optikpi.TokenSource) ([]sink.Destination, error) {
	out := make([]sink.Destination, 0, len(cfg.Destinations))
	for i, d := range cfg.Destinations {
		src := tokens[d.Name]
		key := fmt.Sprintf("destinations[%d]", i)
		switch {
		case src != nil:
		case d.TokenFile != "":
			src = optikpi.NewFileToken(d.TokenFile)
			key += ".token_file"
		default:
			src = optikpi.EnvToken(d.TokenEnv)
			key += ".token_env"
		}
		// Fail at start-up rather than on the first batch.
		if _, err := src.Token(); err != nil {
			return nil, fmt.Errorf("%s (%s): %w", key, d.Name, err)
		}
		out = append(out, sink.Destination{
			Name:        d.Name,
			BaseURL:     d.BaseURL,
			AccountID:   d.AccountID,
			WorkspaceID: d.WorkspaceID,
			Token:       src,
		})
	}
	return out, nil
}

func sinkOptions(c config.Sink, opts Options, logger *zap.Logger) sink.Options {
	limits := make(map[optikpi.Kind]rate.Limit, len(c.RateLimits))
	for name, perSecond := range c.RateLimits {
		if k, err := optikpi.ParseKind(name); err == nil {
			limits[k] = rate.Limit(perSecond)
		}
	}
	return sink.Options{
		BatchSize:      c.BatchSize,
		MaxBatchBytes:  c.MaxBatchBytes,
		Linger:         c.Linger,
		InFlight:       c.InFlight,
		RateLimits:     limits,
		RequestTimeout: c.RequestTimeout,
		Retry: optikpi.RetryPolicy{
			MaxAttempts: c.Retry.MaxAttempts,
			MinBackoff:  c.Retry.InitialBackoff,
			MaxBackoff:  c.Retry.MaxBackoff,
		},
		MisconfiguredRetry: c.MisconfiguredRetry,
		HTTPClient:         opts.HTTPClient,
		Logger:             logger.Named("sink"),
		Registerer:         opts.Registerer,
	}
}

// kafkaMetrics adds franz-go's own client metrics (connections, bytes,
// request latency, buffered records) to a copy of opts, labelled by
// client_id so that the consumer and the dead-letter producer are told
// apart. Each client needs its own kprom.Metrics: they register on creation.
func kafkaMetrics(opts []kgo.Opt, reg prometheus.Registerer) []kgo.Opt {
	out := append([]kgo.Opt(nil), opts...)
	if reg == nil {
		return out
	}
	return append(out, kgo.WithHooks(kprom.NewMetrics(telemetry.Namespace,
		kprom.Subsystem("kafka"), kprom.Registerer(reg), kprom.WithClientLabel())))
}

// kafkaOpts returns the client options the Kafka section implies.
func kafkaOpts(k config.Kafka, logger *zap.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.WithLogger(kzap.New(logger.Named("kafka"), kzap.AtomicLevel(zap.NewAtomicLevelAt(zapcore.WarnLevel)))),
	}
	if k.TLS.Enabled {
		tc, err := tlsConfig(k.TLS)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if k.SASL.Mechanism != "" {
		pass, err := secret(k.SASL.PasswordEnv, k.SASL.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.sasl: %w", err)
		}
		switch k.SASL.Mechanism {
		case "plain":
			opts = append(opts, kgo.SASL(plain.Auth{User: k.SASL.Username, Pass: pass}.AsMechanism()))
		case "scram-sha-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: k.SASL.Username, Pass: pass}.AsSha256Mechanism()))
		case "scram-sha-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: k.SASL.Username, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("kafka.sasl.mechanism: unknown %q", k.SASL.Mechanism)
		}
	}
	return opts, nil
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         t.ServerName,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // an operator's explicit choice, off by default
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka.tls.ca_file: no PEM certificate in %s", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// secret reads a secret from an environment variable or a file.
func secret(env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	v, ok := os.LookupEnv(env)
	if !ok || v == "" {
		return "", fmt.Errorf("password_env: variable %s is not set", env)
	}
	return v, nil
}

// KafkaOpts returns the Kafka client options (brokers, TLS, SASL, logging)
// the configuration implies, for the tools that read and write the same
// cluster as the relay: the dead-letter commands.
func KafkaOpts(k config.Kafka, logger *zap.Logger) ([]kgo.Opt, error) {
	return kafkaOpts(k, logger)
}

// NewSink builds the sink the relay delivers through, with the
// configuration's destinations (tokens overridden by opts.Tokens), batching,
// rate limits, retries and opts' HTTP client, logger and registerer: for the
// tools that deliver as the relay does, such as relay dlq replay.
func NewSink(cfg *config.Config, opts Options) (*sink.Sink, error) {
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	dests, err := destinations(cfg, opts.Tokens)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	s, err := sink.New(dests, sinkOptions(cfg.Sink, opts, logger))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return s, nil
}

package pipeline

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"github.com/twmb/franz-go/plugin/kprom"
	"github.com/twmb/franz-go/plugin/kzap"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/awscreds"
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

func sinkOptions(c config.Sink, opts Options, logger *zap.Logger) (sink.Options, error) {
	limits := make(map[optikpi.Kind]rate.Limit, len(c.RateLimits))
	for name, perSecond := range c.RateLimits {
		if k, err := optikpi.ParseKind(name); err == nil {
			limits[k] = rate.Limit(perSecond)
		}
	}
	var tc *tls.Config
	if !c.TLS.IsZero() {
		var err error
		if tc, err = c.TLS.Config(); err != nil {
			return sink.Options{}, fmt.Errorf("sink.tls.%w", err)
		}
	}
	var proxy func(*http.Request) (*url.URL, error)
	if c.ProxyURL != "" {
		u, err := url.Parse(c.ProxyURL)
		if err != nil {
			return sink.Options{}, errors.New("sink.proxy_url: not a URL") // not echoed: it may hold a password
		}
		proxy = http.ProxyURL(u)
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
		TLSConfig:          tc,
		Proxy:              proxy,
		Logger:             logger.Named("sink"),
		Registerer:         opts.Registerer,
	}, nil
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

// KafkaOpts returns the Kafka client options (brokers, TLS, SASL, logging)
// the Kafka section implies: the relay's, and those of the tools that read
// and write the same cluster, such as the dead-letter commands.
func KafkaOpts(k config.Kafka, logger *zap.Logger) ([]kgo.Opt, error) {
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.WithLogger(kzap.New(logger.Named("kafka"), kzap.AtomicLevel(zap.NewAtomicLevelAt(zapcore.WarnLevel)))),
	}
	if k.TLS.Enabled {
		tc, err := k.TLS.Config()
		if err != nil {
			return nil, fmt.Errorf("kafka.tls.%w", err)
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if k.SASL.Mechanism != "" {
		m, err := saslMechanism(k.SASL, logger)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

// balancer returns the group balancer config.Kafka.Balancer names; the
// configuration was validated, so an unknown name is the default.
func balancer(name string) kgo.GroupBalancer {
	switch name {
	case config.BalancerSticky:
		return kgo.StickyBalancer()
	case config.BalancerRange:
		return kgo.RangeBalancer()
	case config.BalancerRoundRobin:
		return kgo.RoundRobinBalancer()
	default:
		return kgo.CooperativeStickyBalancer()
	}
}

// saslMechanism returns the mechanism s configures. Its secrets are read
// once here, so that a missing one fails at start-up; the OAUTHBEARER token
// and the AWS credentials are read again on every authentication, so that
// rotated ones are used from the next connection on. For aws-msk-iam only
// what needs no network is checked here (awscreds.Check); temporary
// credentials are fetched at the first authentication, in Run, and a
// refusal there is logged by the client naming the source.
func saslMechanism(s config.SASL, logger *zap.Logger) (sasl.Mechanism, error) {
	switch s.Mechanism {
	case config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512:
		pass, err := s.Password()
		if err != nil {
			return nil, err
		}
		switch s.Mechanism {
		case config.SASLPlain:
			return plain.Auth{User: s.Username, Pass: pass}.AsMechanism(), nil
		case config.SASLScramSHA256:
			return scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism(), nil
		default:
			return scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism(), nil
		}
	case config.SASLOAuthBearer:
		if _, err := s.Token(); err != nil {
			return nil, err
		}
		return oauth.Oauth(func(context.Context) (oauth.Auth, error) {
			tok, err := s.Token()
			return oauth.Auth{Token: tok}, err
		}), nil
	case config.SASLAWSMSKIAM:
		if _, err := awscreds.Check(nil); err != nil {
			return nil, fmt.Errorf("kafka.sasl (aws-msk-iam): %w", err)
		}
		// One provider for the clients built from these options: they share
		// its cache, so one STS call serves the consumer and the producer.
		creds := awscreds.New(awscreds.Logger(logger.Named("aws")))
		return aws.ManagedStreamingIAM(func(ctx context.Context) (aws.Auth, error) {
			c, err := creds.Retrieve(ctx)
			if err != nil {
				return aws.Auth{}, fmt.Errorf("kafka.sasl (aws-msk-iam): %w", err)
			}
			return aws.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		}), nil
	}
	return nil, fmt.Errorf("kafka.sasl.mechanism: unknown %q", s.Mechanism)
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
	sopts, err := sinkOptions(cfg.Sink, opts, logger)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	s, err := sink.New(dests, sopts)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return s, nil
}

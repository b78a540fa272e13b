package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/optikpi/optikpi-relay/internal/awscreds"
)

// ReadSecret returns the secret in file, or else in the environment
// variable env, without surrounding whitespace. It reads anew on every
// call, so a rotated file or variable is seen at once. Errors name the
// file or variable, never the content; an empty secret is an error.
func ReadSecret(env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("file %s is empty", file)
		}
		return v, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok {
		return "", fmt.Errorf("environment variable %s is not set", env)
	}
	if v = strings.TrimSpace(v); v == "" {
		return "", fmt.Errorf("environment variable %s is empty", env)
	}
	return v, nil
}

// Password reads the plain or SCRAM password.
func (s SASL) Password() (string, error) {
	v, err := ReadSecret(s.PasswordEnv, s.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("kafka.sasl.%s: %w", pick(s.PasswordEnv, s.PasswordFile, "password"), err)
	}
	return v, nil
}

// Token reads the OAUTHBEARER token.
func (s SASL) Token() (string, error) {
	v, err := ReadSecret(s.TokenEnv, s.TokenFile)
	if err != nil {
		return "", fmt.Errorf("kafka.sasl.%s: %w", pick(s.TokenEnv, s.TokenFile, "token"), err)
	}
	return v, nil
}

// pick names the key a secret came from: name_file when file is set, else
// name_env.
func pick(env, file, name string) string {
	if file != "" {
		return name + "_file"
	}
	return name + "_env"
}

// Config builds the tls.Config these settings describe, reading the files.
// Errors name the key (ca_file, cert_file) within the section.
func (c ClientTLS) Config() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         c.ServerName,
		InsecureSkipVerify: c.InsecureSkipVerify, //nolint:gosec // an operator's explicit choice, off by default
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file: no PEM certificate in %s", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file, key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// IsZero reports whether nothing is set: the system's defaults apply.
func (c ClientTLS) IsZero() bool { return c == ClientTLS{} }

// CheckSecrets reads every secret and file the configuration refers to, as
// run would: each destination's token, the Kafka SASL credentials, and the
// TLS files of Kafka and the sink. It reports every one that is missing,
// empty or unreadable as "source:line: key: what is wrong", joined with
// errors.Join; each matches ErrInvalid. It never reveals a secret's value.
func (c *Config) CheckSecrets() error {
	p := c.Problems()
	c.checkDestinationSecrets(p)
	c.checkKafkaSecrets(p)
	return p.Err()
}

// CheckKafkaSecrets is CheckSecrets for what reading and writing Kafka
// needs alone (SASL and TLS): the secrets of a command that sends nothing
// to Optikpi, such as reading the dead-letter topic.
func (c *Config) CheckKafkaSecrets() error {
	p := c.Problems()
	c.checkKafkaSecrets(p)
	return p.Err()
}

func (c *Config) checkDestinationSecrets(p *Problems) {
	for i, d := range c.Destinations {
		key := fmt.Sprintf("destinations[%d].%s", i, pick(d.TokenEnv, d.TokenFile, "token"))
		if _, err := ReadSecret(d.TokenEnv, d.TokenFile); err != nil {
			format := "token %v" // "token file F is empty", "token environment variable V is not set"
			if _, unread := errors.AsType[*fs.PathError](err); unread {
				format = "token file: %v"
			}
			p.Add(key, format, err)
		}
	}
	checkTLSFiles(c.Sink.TLS, "sink.tls", p)
}

func (c *Config) checkKafkaSecrets(p *Problems) {
	s := c.Kafka.SASL
	switch s.Mechanism {
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if _, err := ReadSecret(s.PasswordEnv, s.PasswordFile); err != nil {
			p.Add("kafka.sasl."+pick(s.PasswordEnv, s.PasswordFile, "password"), "%v", err)
		}
	case SASLOAuthBearer:
		if _, err := ReadSecret(s.TokenEnv, s.TokenFile); err != nil {
			p.Add("kafka.sasl."+pick(s.TokenEnv, s.TokenFile, "token"), "%v", err)
		}
	case SASLAWSMSKIAM:
		// Without the network: the source's variables and token files.
		if _, err := awscreds.Check(nil); err != nil {
			p.Add("kafka.sasl.mechanism", "aws-msk-iam: %s", strings.TrimPrefix(err.Error(), "awscreds: "))
		}
	}
	if c.Kafka.TLS.Enabled {
		checkTLSFiles(c.Kafka.TLS.ClientTLS, "kafka.tls", p)
	}
}

func checkTLSFiles(t ClientTLS, key string, p *Problems) {
	if _, err := t.Config(); err != nil {
		k, msg, _ := strings.Cut(err.Error(), ": ")
		if strings.Contains(k, ",") { // cert_file, key_file
			k = "cert_file"
		}
		p.Add(key+"."+k, "%s", msg)
	}
}

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/awscreds"
)

func TestParseSASLAndTLS(t *testing.T) {
	tests := []struct {
		name    string
		section string   // added under kafka:
		wants   []string // each in the error; none: valid
	}{
		{"plain", "  sasl: {mechanism: plain, username: u, password_env: P}\n", nil},
		{"oauthbearer file", "  sasl: {mechanism: oauthbearer, token_file: /t}\n", nil},
		{"oauthbearer env", "  sasl: {mechanism: oauthbearer, token_env: T}\n", nil},
		{"aws", "  sasl: {mechanism: aws-msk-iam}\n  tls: {enabled: true}\n", nil},
		{"aws without tls", "  sasl: {mechanism: aws-msk-iam}\n", []string{"kafka.tls.enabled: aws-msk-iam needs TLS"}},
		{"oauthbearer without token", "  sasl: {mechanism: oauthbearer}\n", []string{"kafka.sasl: exactly one of token_env and token_file is required with oauthbearer"}},
		{"oauthbearer with password", "  sasl: {mechanism: oauthbearer, token_env: T, password_env: P}\n", []string{"oauthbearer takes a token"}},
		{"aws with username", "  sasl: {mechanism: aws-msk-iam, username: u}\n", []string{"aws-msk-iam takes its credentials from the AWS default chain"}},
		{"plain with token", "  sasl: {mechanism: plain, username: u, password_env: P, token_env: T}\n", []string{"token_env and token_file are for oauthbearer"}},
		{"unknown mechanism", "  sasl: {mechanism: gssapi}\n", []string{`kafka.sasl.mechanism: want plain, scram-sha-256, scram-sha-512, oauthbearer or aws-msk-iam, got "gssapi"`}},
		{"tls inline keys", "  tls: {enabled: true, ca_file: /ca.pem, server_name: k}\n", nil},
		{"tls unknown key lists inline ones", "  tls: {enabled: true, ca: /ca.pem}\n", []string{"kafka.tls.ca: unknown key (known: enabled, ca_file, cert_file, key_file, server_name, insecure_skip_verify)"}},
		{"tls disabled with settings", "  tls: {ca_file: /ca.pem}\n", []string{"kafka.tls.enabled: TLS settings are given but enabled is false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(edit(t, "  group: relay\n", "  group: relay\n"+tt.section)), "test.yaml")
			wantProblems(t, err, tt.wants)
		})
	}
}

func TestParseSinkTLSProxyTimeouts(t *testing.T) {
	tests := []struct {
		name  string
		sink  string   // added as a sink: section
		wants []string // each in the error; none: valid
	}{
		{"valid", "sink:\n  tls: {ca_file: /ca.pem, cert_file: /c, key_file: /k}\n  proxy_url: http://proxy:3128\nobservability:\n  server_timeouts: {read_header: 1s, write: 1m}\n", nil},
		{"cert without key", "sink:\n  tls: {cert_file: /c}\n", []string{"sink.tls.cert_file: cert_file and key_file go together"}},
		{"bad proxy scheme", "sink:\n  proxy_url: ftp://u:secret@proxy\n", []string{`sink.proxy_url: want an http, https or socks5 URL such as http://proxy.internal:3128, got "ftp://u:xxxxx@proxy"`}},
		{"proxy without host", "sink:\n  proxy_url: proxy:3128\n", []string{"sink.proxy_url: want an http"}},
		{"zero timeout", "observability:\n  server_timeouts: {idle: 0s}\n", []string{"observability.server_timeouts.idle: must be more than 0, got 0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(edit(t, "dlq:\n", tt.sink+"dlq:\n")), "test.yaml")
			if len(tt.wants) == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				if got := c.Observability.ServerTimeouts; got.ReadHeader.String() != "1s" || got.Write.String() != "1m0s" || got.Read.String() != "10s" || got.Idle.String() != "2m0s" {
					t.Errorf("server_timeouts: got %+v, want read_header 1s, read 10s (default), write 1m, idle 2m (default)", got)
				}
				return
			}
			for _, w := range tt.wants {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("got %v, want it to contain %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("the error reveals the proxy's password: %v", err)
			}
		})
	}
}

func TestCheckSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "s3cret\n")
	empty := write("empty", " \n")
	notPEM := write("ca.pem", "not a certificate")
	t.Setenv("OPTIKPI_TOKEN", "tok")
	t.Setenv("EMPTY_VAR", "")
	for _, k := range []string{awscreds.AccessKeyIDEnv, awscreds.SecretAccessKeyEnv, awscreds.SessionTokenEnv,
		awscreds.WebIdentityTokenFileEnv, awscreds.RoleARNEnv, awscreds.ContainerFullURIEnv, awscreds.ContainerRelativeURIEnv} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv(awscreds.IMDSDisabledEnv, "true") // else instance metadata is the source, unchecked
	tests := []struct {
		name  string
		old   string // replaced in minimal by new
		new   string
		wants []string // each in the error; none: no error
	}{
		{"all present", "", "", nil},
		{"token env unset", "token_env: OPTIKPI_TOKEN", "token_env: NO_SUCH_TOKEN_VAR",
			[]string{"test.yaml:11: destinations[0].token_env: token environment variable NO_SUCH_TOKEN_VAR is not set"}},
		{"token file missing", "token_env: OPTIKPI_TOKEN", "token_file: " + dir + "/none",
			[]string{"test.yaml:11: destinations[0].token_file: token file: open " + dir + "/none: no such file or directory"}},
		{"token file empty", "token_env: OPTIKPI_TOKEN", "token_file: " + empty,
			[]string{"destinations[0].token_file: token file " + empty + " is empty"}},
		{"sasl password env empty", "  group: relay\n", "  group: relay\n  sasl: {mechanism: scram-sha-512, username: u, password_env: EMPTY_VAR}\n",
			[]string{"test.yaml:5: kafka.sasl.password_env: environment variable EMPTY_VAR is empty"}},
		{"sasl password file good", "  group: relay\n", "  group: relay\n  sasl: {mechanism: plain, username: u, password_file: " + good + "}\n", nil},
		{"oauth token file empty", "  group: relay\n", "  group: relay\n  sasl: {mechanism: oauthbearer, token_file: " + empty + "}\n",
			[]string{"kafka.sasl.token_file: file " + empty + " is empty"}},
		{"aws credentials missing", "  group: relay\n", "  group: relay\n  sasl: {mechanism: aws-msk-iam}\n  tls: {enabled: true}\n",
			[]string{"kafka.sasl.mechanism: aws-msk-iam: no AWS credentials configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (EKS IRSA)"}},
		{"kafka ca not PEM", "  group: relay\n", "  group: relay\n  tls: {enabled: true, ca_file: " + notPEM + "}\n",
			[]string{"kafka.tls.ca_file: no PEM certificate in " + notPEM}},
		{"sink client cert missing", "dlq:\n", "sink:\n  tls: {cert_file: " + dir + "/c, key_file: " + dir + "/k}\ndlq:\n",
			[]string{"sink.tls.cert_file: open " + dir + "/c: no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := minimal
			if tt.old != "" {
				src = edit(t, tt.old, tt.new)
			}
			c, err := Parse([]byte(src), "test.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.CheckSecrets()
			wantProblems(t, err, tt.wants)
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error reveals a secret: %v", err)
			}
		})
	}
}

// wantProblems checks that err is nil when wants is empty, else an
// ErrInvalid containing each of wants.
func wantProblems(t *testing.T, err error, wants []string) {
	t.Helper()
	if len(wants) == 0 {
		if err != nil {
			t.Errorf("got %v, want no error", err)
		}
		return
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want ErrInvalid", err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %v\nwant it to contain %q", err, w)
		}
	}
}

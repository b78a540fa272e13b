package pipeline

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/awscreds"
	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/sink"
)

// testPKI is a CA and a certificate it signed for 127.0.0.1 and localhost,
// written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
	server                    tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "relay test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPKI{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "cert.pem"),
		keyFile:  filepath.Join(dir, "key.pem"),
	}
	writePEM(t, p.caFile, "CERTIFICATE", caDER)
	writePEM(t, p.certFile, "CERTIFICATE", der)
	writePEM(t, p.keyFile, "EC PRIVATE KEY", keyDER)
	if p.server, err = tls.LoadX509KeyPair(p.certFile, p.keyFile); err != nil {
		t.Fatal(err)
	}
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ping connects with the options the Kafka section implies and asks for
// metadata, which needs the TLS handshake and SASL authentication to pass.
func ping(t *testing.T, k config.Kafka) error {
	t.Helper()
	opts, err := KafkaOpts(k, zap.NewNop())
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(opts, kgo.RequestRetries(0))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

// The Kafka options connect to a broker that requires SASL (and TLS), and a
// wrong password or an untrusted certificate fails.
func TestKafkaSASLAndTLS(t *testing.T) {
	pki := newTestPKI(t)
	users := []kfake.Opt{
		kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plain-user", "plain-pass"),
		kfake.Superuser("SCRAM-SHA-256", "scram256-user", "scram256-pass"),
		kfake.Superuser("SCRAM-SHA-512", "scram512-user", "scram512-pass"),
	}
	plainCluster := newCluster(t, users...)
	tlsCluster := newCluster(t, append(users, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}))...)

	passwords := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(passwords, []byte("scram512-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_PLAIN_PASS", "plain-pass")
	t.Setenv("TEST_SCRAM256_PASS", "scram256-pass")
	t.Setenv("TEST_WRONG_PASS", "wrong")

	// kfake refuses a bad SASL handshake with an error, a bad password by
	// closing the connection.
	const authFailed = "SASL|EOF"
	trusted := config.TLS{Enabled: true, ClientTLS: config.ClientTLS{CAFile: pki.caFile}}
	tests := []struct {
		name    string
		brokers []string
		tls     config.TLS
		sasl    config.SASL
		wantErr string // "" for a connection, else alternatives split by |
	}{
		{"plain", plainCluster, config.TLS{}, config.SASL{Mechanism: "plain", Username: "plain-user", PasswordEnv: "TEST_PLAIN_PASS"}, ""},
		{"scram-sha-256", plainCluster, config.TLS{}, config.SASL{Mechanism: "scram-sha-256", Username: "scram256-user", PasswordEnv: "TEST_SCRAM256_PASS"}, ""},
		{"scram-sha-512 from a file", plainCluster, config.TLS{}, config.SASL{Mechanism: "scram-sha-512", Username: "scram512-user", PasswordFile: passwords}, ""},
		{"plain wrong password", plainCluster, config.TLS{}, config.SASL{Mechanism: "plain", Username: "plain-user", PasswordEnv: "TEST_WRONG_PASS"}, authFailed},
		{"scram-sha-256 wrong password", plainCluster, config.TLS{}, config.SASL{Mechanism: "scram-sha-256", Username: "scram256-user", PasswordEnv: "TEST_WRONG_PASS"}, authFailed},
		{"scram-sha-512 wrong user", plainCluster, config.TLS{}, config.SASL{Mechanism: "scram-sha-512", Username: "nobody", PasswordFile: passwords}, authFailed},
		{"no credentials", plainCluster, config.TLS{}, config.SASL{}, authFailed},
		{"tls + scram-sha-256", tlsCluster, trusted, config.SASL{Mechanism: "scram-sha-256", Username: "scram256-user", PasswordEnv: "TEST_SCRAM256_PASS"}, ""},
		{"tls + plain + client certificate", tlsCluster, config.TLS{Enabled: true, ClientTLS: config.ClientTLS{CAFile: pki.caFile, CertFile: pki.certFile, KeyFile: pki.keyFile}},
			config.SASL{Mechanism: "plain", Username: "plain-user", PasswordEnv: "TEST_PLAIN_PASS"}, ""},
		{"tls untrusted CA", tlsCluster, config.TLS{Enabled: true}, config.SASL{Mechanism: "plain", Username: "plain-user", PasswordEnv: "TEST_PLAIN_PASS"}, "certificate"},
		{"tls wrong server name", tlsCluster, config.TLS{Enabled: true, ClientTLS: config.ClientTLS{CAFile: pki.caFile, ServerName: "kafka.example.com"}},
			config.SASL{Mechanism: "plain", Username: "plain-user", PasswordEnv: "TEST_PLAIN_PASS"}, "certificate"},
		{"tls + wrong password", tlsCluster, trusted, config.SASL{Mechanism: "scram-sha-256", Username: "scram256-user", PasswordEnv: "TEST_WRONG_PASS"}, authFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ping(t, config.Kafka{Brokers: tt.brokers, TLS: tt.tls, SASL: tt.sasl})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want a connection", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("got a connection, want an error about %s", tt.wantErr)
			case tt.wantErr != "" && !slices.ContainsFunc(strings.Split(tt.wantErr, "|"), func(w string) bool { return strings.Contains(err.Error(), w) }):
				t.Errorf("got %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}

func newCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// kfake has no OAUTHBEARER or AWS_MSK_IAM, so these check the mechanisms'
// first message: the current credentials, read again on each
// authentication.
func TestSASLMechanismsRereadCredentials(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	setToken := func(tok string) {
		if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setToken("first-token")
	oauth, err := saslMechanism(config.SASL{Mechanism: config.SASLOAuthBearer, TokenFile: tokenFile}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(awscreds.AccessKeyIDEnv, "AKIDFIRST")
	t.Setenv(awscreds.SecretAccessKeyEnv, "secret")
	t.Setenv(awscreds.SessionTokenEnv, "")
	msk, err := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	const mskHost = "b-1.relay.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"
	first := func(name string) (string, error) {
		m, host := oauth, "localhost"
		if name == "AWS_MSK_IAM" {
			m, host = msk, mskHost
		}
		if m.Name() != name {
			t.Fatalf("mechanism %q, want %q", m.Name(), name)
		}
		_, msg, err := m.Authenticate(context.Background(), host)
		return string(msg), err
	}
	steps := []struct {
		name   string
		change func()
		mech   string
		want   string // in the first message; "" wants an error
	}{
		{"oauth first token", func() {}, "OAUTHBEARER", "auth=Bearer first-token\x01"},
		{"oauth rotated file", func() { setToken("second-token") }, "OAUTHBEARER", "auth=Bearer second-token\x01"},
		{"oauth emptied file", func() { setToken("") }, "OAUTHBEARER", ""},
		{"msk first key", func() {}, "AWS_MSK_IAM", "AKIDFIRST/"},
		{"msk rotated key with session", func() {
			t.Setenv(awscreds.AccessKeyIDEnv, "AKIDSECOND")
			t.Setenv(awscreds.SessionTokenEnv, "session-token")
		}, "AWS_MSK_IAM", "AKIDSECOND/"},
		{"msk session token", func() {}, "AWS_MSK_IAM", "session-token"},
		{"msk key unset", func() { os.Unsetenv(awscreds.AccessKeyIDEnv) }, "AWS_MSK_IAM", ""},
	}
	for _, s := range steps {
		s.change()
		msg, err := first(s.mech)
		switch {
		case s.want == "" && err == nil:
			t.Errorf("%s: got message %q, want an error", s.name, msg)
		case s.want != "" && (err != nil || !strings.Contains(msg, s.want)):
			t.Errorf("%s: got %q, %v; want a message containing %q", s.name, msg, err, s.want)
		}
	}

	// A missing secret fails at start-up, naming the key.
	os.Remove(tokenFile)
	if _, err := saslMechanism(config.SASL{Mechanism: config.SASLOAuthBearer, TokenFile: tokenFile}, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "kafka.sasl.token_file") {
		t.Errorf("missing token file: got %v, want an error naming kafka.sasl.token_file", err)
	}
	if _, err := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM}, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("missing AWS key: got %v, want an error naming AWS_ACCESS_KEY_ID", err)
	}
}

// On EKS with IRSA, aws-msk-iam signs with the role's credentials from STS,
// asked once for the connections that follow, never before the first
// authentication.
func TestMSKIAMWebIdentity(t *testing.T) {
	var calls atomic.Int64
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.FormValue("WebIdentityToken") != "projected-jwt" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `<ErrorResponse><Error><Code>InvalidIdentityToken</Code><Message>bad token</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
			return
		}
		io.WriteString(w, `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>`+
			`<AccessKeyId>ASIAIRSA</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>irsa-session</SessionToken>`+
			`<Expiration>`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`)
	}))
	defer sts.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("projected-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		awscreds.AccessKeyIDEnv: "", awscreds.SecretAccessKeyEnv: "", awscreds.SessionTokenEnv: "",
		awscreds.WebIdentityTokenFileEnv: tokenFile, awscreds.RoleARNEnv: "arn:aws:iam::123456789012:role/relay",
		awscreds.EndpointURLSTSEnv: sts.URL, awscreds.IMDSDisabledEnv: "true",
	} {
		t.Setenv(k, v)
	}
	msk, err := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM}, zap.NewNop())
	if err != nil || calls.Load() != 0 {
		t.Fatalf("got %v after %d STS calls; want no error and no call before authenticating", err, calls.Load())
	}
	for i := range 3 {
		_, msg, err := msk.Authenticate(context.Background(), "b-1.relay.abc123.c2.kafka.eu-west-1.amazonaws.com:9098")
		if err != nil || !strings.Contains(string(msg), "ASIAIRSA/") || !strings.Contains(string(msg), "irsa-session") {
			t.Errorf("authentication %d: got %q, %v; want a message signed with ASIAIRSA and its session token", i, msg, err)
		}
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("got %d STS calls for 3 authentications, want 1", got)
	}

	// A token file gone at start-up fails there, naming the variable.
	os.Remove(tokenFile)
	if _, err := saslMechanism(config.SASL{Mechanism: config.SASLAWSMSKIAM}, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "kafka.sasl (aws-msk-iam): awscreds: web identity: AWS_WEB_IDENTITY_TOKEN_FILE") {
		t.Errorf("missing token file: got %v, want an error naming AWS_WEB_IDENTITY_TOKEN_FILE", err)
	}
}

// health builds the sink as New does from sink settings c and asks the
// destination at baseURL for its health once.
func health(t *testing.T, c config.Sink, baseURL string) (optikpi.Health, error) {
	t.Helper()
	opts, err := sinkOptions(c, Options{}, zap.NewNop())
	if err != nil {
		return optikpi.HealthDown, err
	}
	s, err := sink.New([]sink.Destination{{Name: "main", BaseURL: baseURL, AccountID: "a", WorkspaceID: "w", Token: optikpi.EnvToken("PATH")}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	h := s.Health(ctx)[0]
	return h.Health, h.Err
}

// connectProxy is an HTTP proxy that tunnels CONNECT requests and counts
// them.
type connectProxy struct{ connects atomic.Int64 }

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.connects.Add(1)
	upstream, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	rw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n")
	rw.Flush()
	done := make(chan struct{})
	go func() {
		io.Copy(upstream, rw)
		upstream.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(conn, upstream)
	conn.Close()
	<-done
	upstream.Close()
}

// The sink's requests trust sink.tls.ca_file, offer its client certificate
// and go through sink.proxy_url.
func TestSinkTLSAndProxy(t *testing.T) {
	pki := newTestPKI(t)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apigw/ingest"+optikpi.HealthPath {
			http.NotFound(w, r)
		}
	})
	quiet := log.New(io.Discard, "", 0) // refused handshakes are the point
	srv := httptest.NewUnstartedServer(ok)
	srv.Config.ErrorLog = quiet
	srv.StartTLS()
	defer srv.Close()
	serverCA := filepath.Join(t.TempDir(), "server-ca.pem")
	writePEM(t, serverCA, "CERTIFICATE", srv.Certificate().Raw)

	// mTLS: the server wants a client certificate signed by the test CA.
	caPEM, err := os.ReadFile(pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	clientCAs := x509.NewCertPool()
	clientCAs.AppendCertsFromPEM(caPEM)
	mtls := httptest.NewUnstartedServer(ok)
	mtls.Config.ErrorLog = quiet
	mtls.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clientCAs, MinVersion: tls.VersionTLS12}
	mtls.StartTLS()
	defer mtls.Close()

	proxy := &connectProxy{}
	proxySrv := httptest.NewServer(proxy)
	defer proxySrv.Close()

	tests := []struct {
		name         string
		sink         config.Sink
		url          string
		wantOK       bool
		wantConnects int64
	}{
		{"untrusted without ca_file", config.Sink{}, srv.URL, false, 0},
		{"ca_file", config.Sink{TLS: config.ClientTLS{CAFile: serverCA}}, srv.URL, true, 0},
		{"ca_file through proxy_url", config.Sink{TLS: config.ClientTLS{CAFile: serverCA}, ProxyURL: proxySrv.URL}, srv.URL, true, 1},
		{"untrusted through proxy_url", config.Sink{ProxyURL: proxySrv.URL}, srv.URL, false, 1},
		{"insecure_skip_verify", config.Sink{TLS: config.ClientTLS{InsecureSkipVerify: true}}, srv.URL, true, 0},
		{"mTLS without client certificate", config.Sink{TLS: config.ClientTLS{CAFile: serverCA}}, mtls.URL, false, 0},
		{"mTLS with client certificate", config.Sink{TLS: config.ClientTLS{CAFile: serverCA, CertFile: pki.certFile, KeyFile: pki.keyFile}}, mtls.URL, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := proxy.connects.Load()
			h, err := health(t, tt.sink, tt.url+"/apigw/ingest")
			if got := h == optikpi.HealthOK; got != tt.wantOK {
				t.Errorf("health %v (%v), want ok %v", h, err, tt.wantOK)
			}
			if got := proxy.connects.Load() - before; got != tt.wantConnects {
				t.Errorf("%d CONNECTs through the proxy, want %d", got, tt.wantConnects)
			}
		})
	}

	if _, err := sinkOptions(config.Sink{TLS: config.ClientTLS{CAFile: pki.keyFile}}, Options{}, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "sink.tls.ca_file: no PEM certificate") {
		t.Errorf("a key as the CA: got %v, want sink.tls.ca_file: no PEM certificate", err)
	}
}

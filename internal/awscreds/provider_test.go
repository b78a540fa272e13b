package awscreds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// Secrets the fakes hand out or are handed; no error or log may show one.
const (
	webToken      = "WEB-IDENTITY-JWT"
	podToken      = "POD-IDENTITY-TOKEN"
	secretKey     = "SECRET-ACCESS-KEY"
	sessionSecret = "SESSION-TOKEN"
	roleARN       = "arn:aws:iam::123456789012:role/relay"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for expiry.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// fakeAWS plays STS, a container agent and instance metadata. Each answers
// with credentials whose key id names it and that expire an hour after the
// clock's now; fail makes all of them refuse.
type fakeAWS struct {
	t     *testing.T
	clock *clock
	fail  atomic.Bool
	calls sync.Map // path -> *atomic.Int64
}

func (f *fakeAWS) count(name string) int64 {
	v, _ := f.calls.LoadOrStore(name, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (f *fakeAWS) hit(name string) {
	v, _ := f.calls.LoadOrStore(name, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (f *fakeAWS) expires() string { return f.clock.Now().Add(time.Hour).Format(time.RFC3339) }

func (f *fakeAWS) credsJSON(id string) string {
	return fmt.Sprintf(`{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":%q,"SecretAccessKey":%q,"Token":%q,"Expiration":%q}`,
		id, secretKey, sessionSecret, f.expires())
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/sts/":
		f.hit("sts")
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("STS: %v", err)
		}
		for k, want := range map[string]string{"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15", "RoleArn": roleARN, "WebIdentityToken": webToken} {
			if got := r.PostForm.Get(k); got != want {
				f.t.Errorf("STS %s: got %q, want %q", k, got, want)
			}
		}
		if r.PostForm.Get("RoleSessionName") == "" {
			f.t.Error("STS: no RoleSessionName")
		}
		if f.fail.Load() {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key from your identity provider</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:relay:relay</SubjectFromWebIdentityToken>
    <Credentials>
      <SessionToken>%s</SessionToken>
      <SecretAccessKey>%s</SecretAccessKey>
      <Expiration>%s</Expiration>
      <AccessKeyId>ASIASTS</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-0</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`, sessionSecret, secretKey, f.expires())
	case r.URL.Path == "/pod-identity" || r.URL.Path == "/v2/credentials/task":
		f.hit("container")
		if r.URL.Path == "/pod-identity" && r.Header.Get("Authorization") != podToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":"AccessDeniedException","message":"bad token"}`)
			return
		}
		if f.fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, f.credsJSON("ASIACONTAINER"))
	case r.URL.Path == "/no-role"+imdsTokenPath:
		f.hit("imds token")
		fmt.Fprint(w, "IMDS-SESSION")
	case r.URL.Path == "/no-role"+imdsCredsPath:
		f.hit("imds")
		w.WriteHeader(http.StatusNotFound)
	case r.URL.Path == imdsTokenPath:
		f.hit("imds token")
		if r.Method != http.MethodPut || r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if f.fail.Load() {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		fmt.Fprint(w, "IMDS-SESSION")
	case strings.HasPrefix(r.URL.Path, imdsCredsPath):
		f.hit("imds")
		if r.Header.Get("X-aws-ec2-metadata-token") != "IMDS-SESSION" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch strings.TrimPrefix(r.URL.Path, imdsCredsPath) {
		case "":
			fmt.Fprint(w, "relay-node-role\n")
		case "relay-node-role":
			fmt.Fprint(w, f.credsJSON("ASIAIMDS"))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

func newFake(t *testing.T) (*fakeAWS, *httptest.Server) {
	f := &fakeAWS{t: t, clock: &clock{now: t0}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// noSecret fails when s shows any secret the fakes use.
func noSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{webToken, podToken, secretKey, sessionSecret, "IMDS-SESSION"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows the secret %q: %s", what, secret, s)
		}
	}
}

func TestSources(t *testing.T) {
	f, srv := newFake(t)
	tokenFile := writeFile(t, "token", webToken+"\n")
	podTokenFile := writeFile(t, "pod-token", podToken)
	emptyFile := writeFile(t, "empty", "\n")
	sts := srv.URL + "/sts/"
	noIMDS := map[string]string{IMDSDisabledEnv: "true"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	webIdentityEnv := with(noIMDS, WebIdentityTokenFileEnv, tokenFile, RoleARNEnv, roleARN, EndpointURLSTSEnv, sts)
	podIdentityEnv := with(noIMDS, ContainerFullURIEnv, srv.URL+"/pod-identity", ContainerAuthTokenFileEnv, podTokenFile)
	imdsEnv := map[string]string{IMDSEndpointEnv: srv.URL}
	tests := []struct {
		name    string
		env     map[string]string
		fail    bool
		wantID  string // the access key id; "" wants an error
		wantSrc string
		wantErr string // in the error
		calls   string // the fake that must have been asked; "" none
	}{
		{"environment", with(noIMDS, AccessKeyIDEnv, "AKIDENV", SecretAccessKeyEnv, secretKey, SessionTokenEnv, sessionSecret), false, "AKIDENV", "environment", "", ""},
		{"environment without session token", with(noIMDS, AccessKeyIDEnv, "AKIDENV", SecretAccessKeyEnv, secretKey), false, "AKIDENV", "environment", "", ""},
		{"environment key id only", with(noIMDS, AccessKeyIDEnv, "AKIDENV"), false, "", "", "awscreds: environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together", ""},
		{"environment wins over web identity", with(webIdentityEnv, AccessKeyIDEnv, "AKIDENV", SecretAccessKeyEnv, secretKey), false, "AKIDENV", "environment", "", ""},
		{"web identity", webIdentityEnv, false, "ASIASTS", "web identity", "", "sts"},
		{"web identity via AWS_ENDPOINT_URL", with(noIMDS, WebIdentityTokenFileEnv, tokenFile, RoleARNEnv, roleARN, EndpointURLEnv, sts), false, "ASIASTS", "web identity", "", "sts"},
		{"web identity wins over container", with(webIdentityEnv, ContainerFullURIEnv, srv.URL+"/pod-identity"), false, "ASIASTS", "web identity", "", "sts"},
		{"web identity refused", webIdentityEnv, true, "", "",
			"awscreds: web identity: STS AssumeRoleWithWebIdentity for " + roleARN + ": HTTP 400 InvalidIdentityToken: Couldn't retrieve verification key from your identity provider (request id req-1)", "sts"},
		{"web identity token file missing", with(webIdentityEnv, WebIdentityTokenFileEnv, "/no/such/token"), false, "", "",
			"awscreds: web identity: AWS_WEB_IDENTITY_TOKEN_FILE: open /no/such/token: no such file or directory", ""},
		{"web identity token file empty", with(webIdentityEnv, WebIdentityTokenFileEnv, emptyFile), false, "", "",
			"AWS_WEB_IDENTITY_TOKEN_FILE: token file " + emptyFile + " is empty", ""},
		{"web identity role only", with(noIMDS, RoleARNEnv, roleARN), false, "", "",
			"awscreds: web identity: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN must be set together", ""},
		{"pod identity token file", podIdentityEnv, false, "ASIACONTAINER", "container", "", "container"},
		{"pod identity token variable", with(noIMDS, ContainerFullURIEnv, srv.URL+"/pod-identity", ContainerAuthTokenEnv, podToken), false, "ASIACONTAINER", "container", "", "container"},
		{"pod identity wrong token", with(noIMDS, ContainerFullURIEnv, srv.URL+"/pod-identity", ContainerAuthTokenEnv, "wrong"), false, "", "",
			"awscreds: container: GET " + srv.URL + "/pod-identity: HTTP 401 AccessDeniedException: bad token", "container"},
		{"pod identity token file missing", with(podIdentityEnv, ContainerAuthTokenFileEnv, "/no/such/token"), false, "", "",
			"awscreds: container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: open /no/such/token", ""},
		{"container agent fails", podIdentityEnv, true, "", "", "awscreds: container: GET " + srv.URL + "/pod-identity: HTTP 500", "container"},
		{"container full URI on plain http elsewhere", with(noIMDS, ContainerFullURIEnv, "http://example.com/creds", ContainerAuthTokenEnv, podToken), false, "", "",
			"awscreds: container: AWS_CONTAINER_CREDENTIALS_FULL_URI: http://example.com/creds is neither https nor on loopback", ""},
		{"ECS relative URI", with(noIMDS, ContainerRelativeURIEnv, "/v2/credentials/task"), false, "ASIACONTAINER", "container", "", "container"},
		{"instance metadata", imdsEnv, false, "ASIAIMDS", "instance metadata", "", "imds"},
		{"instance metadata refuses a token", imdsEnv, true, "", "",
			"awscreds: instance metadata: session token (IMDSv2): PUT " + srv.URL + "/latest/api/token: HTTP 403", "imds token"},
		{"instance metadata without a role", map[string]string{IMDSEndpointEnv: srv.URL + "/no-role/"}, false, "", "",
			"awscreds: instance metadata: instance role: the instance has no IAM role (instance profile)", "imds"},
		{"instance metadata disabled", map[string]string{IMDSDisabledEnv: "TRUE", IMDSEndpointEnv: srv.URL}, false, "", "",
			"awscreds: no AWS credentials configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN (EKS IRSA), or AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod Identity); instance metadata is off (AWS_EC2_METADATA_DISABLED=true)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			f.fail.Store(tt.fail)
			before := map[string]int64{}
			for _, n := range []string{"sts", "container", "imds token", "imds"} {
				before[n] = f.count(n)
			}
			p := New(Getenv(getenv(tt.env)), Now(f.clock.Now))
			p.ecsHost = strings.TrimPrefix(srv.URL, "http://")
			c, err := p.Retrieve(context.Background())
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
				noSecret(t, "error", gotErr)
			}
			if c.AccessKeyID != tt.wantID || c.Source != tt.wantSrc || !strings.Contains(gotErr, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
				t.Errorf("got %q from %q, error %q\nwant %q from %q, error %q", c.AccessKeyID, c.Source, gotErr, tt.wantID, tt.wantSrc, tt.wantErr)
			}
			noSecret(t, "printed credentials", fmt.Sprintf("%v %+v %s %#v", c, c, c, c))
			if tt.wantID != "" && (c.SecretAccessKey != secretKey || tt.wantSrc != "environment" && c.SessionToken != sessionSecret) {
				t.Errorf("got secret %q, session token %q; want the fake's", c.SecretAccessKey, c.SessionToken)
			}
			for n, b := range before {
				asked := f.count(n) > b
				if want := n == tt.calls || tt.calls == "imds" && n == "imds token"; asked != want {
					t.Errorf("%s asked: got %v, want %v", n, asked, want)
				}
			}
			if errors.Is(err, ErrNoCredentials) != strings.Contains(tt.name, "disabled") {
				t.Errorf("errors.Is(%v, ErrNoCredentials): got %v", err, !strings.Contains(tt.name, "disabled"))
			}
		})
	}
}

func TestSTSEndpoint(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{nil, "https://sts.amazonaws.com"},
		{map[string]string{RegionEnv: "eu-west-1"}, "https://sts.eu-west-1.amazonaws.com"},
		{map[string]string{DefaultRegionEnv: "us-east-2"}, "https://sts.us-east-2.amazonaws.com"},
		{map[string]string{RegionEnv: "eu-west-1", DefaultRegionEnv: "us-east-2"}, "https://sts.eu-west-1.amazonaws.com"},
		{map[string]string{RegionEnv: "cn-north-1"}, "https://sts.cn-north-1.amazonaws.com.cn"},
		{map[string]string{RegionEnv: "eu-west-1", EndpointURLEnv: "http://localstack:4566"}, "http://localstack:4566"},
		{map[string]string{EndpointURLEnv: "http://localstack:4566", EndpointURLSTSEnv: "https://sts-fips.us-east-1.amazonaws.com"}, "https://sts-fips.us-east-1.amazonaws.com"},
	}
	for _, tt := range tests {
		if got := stsEndpoint(getenv(tt.env)); got != tt.want {
			t.Errorf("%v: got %s, want %s", tt.env, got, tt.want)
		}
	}
}

// Temporary credentials are reused until RefreshBefore their expiry, then
// refreshed; a failed refresh keeps them until they expire, and is not
// tried again by every caller.
func TestCacheAndRefresh(t *testing.T) {
	f, srv := newFake(t)
	tokenFile := writeFile(t, "token", webToken)
	env := map[string]string{WebIdentityTokenFileEnv: tokenFile, RoleARNEnv: roleARN, EndpointURLSTSEnv: srv.URL + "/sts/"}
	core, logs := observer.New(zap.InfoLevel)
	p := New(Getenv(getenv(env)), Now(f.clock.Now), Logger(zap.New(core)))
	steps := []struct {
		name    string
		at      time.Duration // after t0
		fail    bool
		calls   int64 // STS calls so far
		expires time.Duration
		wantErr bool
	}{
		{"first", 0, false, 1, time.Hour, false},
		{"cached", 54 * time.Minute, false, 1, time.Hour, false},
		{"cached despite STS down", 54*time.Minute + 59*time.Second, true, 1, time.Hour, false},
		{"refreshed 5 minutes early", 55 * time.Minute, false, 2, 55*time.Minute + time.Hour, false},
		{"refresh fails, cached still valid", 55*time.Minute + 56*time.Minute, true, 3, 55*time.Minute + time.Hour, false},
		{"no retry right after a failed refresh", 55*time.Minute + 56*time.Minute + 10*time.Second, true, 3, 55*time.Minute + time.Hour, false},
		{"refresh fails again", 55*time.Minute + 59*time.Minute, true, 4, 55*time.Minute + time.Hour, false},
		{"expired and STS down", 55*time.Minute + time.Hour, true, 5, 0, true},
		{"STS back", 55*time.Minute + time.Hour + time.Second, false, 6, 55*time.Minute + 2*time.Hour + time.Second, false},
	}
	for _, s := range steps {
		f.clock.Set(t0.Add(s.at))
		f.fail.Store(s.fail)
		c, err := p.Retrieve(context.Background())
		got := c.Expires.Sub(t0)
		if c.Expires.IsZero() {
			got = 0
		}
		if (err != nil) != s.wantErr || got != s.expires || f.count("sts") != s.calls {
			t.Errorf("%s: got expiry t0+%v, %d STS calls, error %v; want t0+%v, %d calls, error %v",
				s.name, got, f.count("sts"), err, s.expires, s.calls, s.wantErr)
		}
	}
	warned := logs.FilterMessageSnippet("using the cached ones").All()
	if len(warned) != 2 {
		t.Errorf("got %d warnings of a failed refresh, want 2", len(warned))
	}
	for _, e := range logs.All() {
		line := fmt.Sprint(e.Message, e.ContextMap())
		noSecret(t, "log", line)
		if e.Message != "AWS credentials obtained" && !strings.Contains(line, "InvalidIdentityToken") {
			t.Errorf("log %q: want the STS error's code", line)
		}
	}
}

// Concurrent callers share one fetch.
func TestConcurrentRetrieve(t *testing.T) {
	f, srv := newFake(t)
	p := New(Getenv(getenv(map[string]string{IMDSEndpointEnv: srv.URL})), Now(f.clock.Now))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := p.Retrieve(context.Background()); err != nil || c.AccessKeyID != "ASIAIMDS" {
				t.Errorf("got %q, %v; want ASIAIMDS", c.AccessKeyID, err)
			}
		}()
	}
	wg.Wait()
	if got := f.count("imds token"); got != 1 {
		t.Errorf("got %d IMDS token requests, want 1", got)
	}
}

// A source that does not answer fails within the timeout, and a caller's
// cancelled context ends the wait.
func TestTimeouts(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	env := map[string]string{IMDSEndpointEnv: srv.URL}

	p := New(Getenv(getenv(env)), Timeouts(time.Second, 50*time.Millisecond))
	_, err := p.Retrieve(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "awscreds: instance metadata: session token (IMDSv2)") {
		t.Errorf("unanswered IMDS: got %v, want a deadline exceeded naming the IMDSv2 token", err)
	}

	p = New(Getenv(getenv(env)), Timeouts(time.Hour, time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Retrieve(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: got %v, want context.Canceled", err)
	}
}

func TestCheck(t *testing.T) {
	tokenFile := writeFile(t, "token", webToken)
	tests := []struct {
		env     map[string]string
		want    string
		wantErr string
	}{
		{map[string]string{AccessKeyIDEnv: "AKID", SecretAccessKeyEnv: secretKey}, "environment", ""},
		{map[string]string{SecretAccessKeyEnv: secretKey}, "", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"},
		{map[string]string{WebIdentityTokenFileEnv: tokenFile, RoleARNEnv: roleARN}, "web identity", ""},
		{map[string]string{WebIdentityTokenFileEnv: "/no/such/token", RoleARNEnv: roleARN}, "web identity",
			"awscreds: web identity: AWS_WEB_IDENTITY_TOKEN_FILE: open /no/such/token: no such file or directory"},
		{map[string]string{ContainerFullURIEnv: "http://169.254.170.23/v1/credentials", ContainerAuthTokenFileEnv: tokenFile}, "container", ""},
		{map[string]string{ContainerFullURIEnv: "http://169.254.170.23/v1/credentials", ContainerAuthTokenFileEnv: "/no/such/token"}, "container",
			"awscreds: container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: open /no/such/token"},
		{map[string]string{ContainerFullURIEnv: "http://10.0.0.1/creds"}, "container", "is neither https nor on loopback"},
		{map[string]string{ContainerRelativeURIEnv: "/v2/credentials/x"}, "container", ""},
		{nil, "instance metadata", ""},
		{map[string]string{IMDSDisabledEnv: "true"}, "", "awscreds: no AWS credentials configured"},
	}
	for _, tt := range tests {
		got, err := Check(getenv(tt.env))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
			noSecret(t, "error", gotErr)
		}
		if got != tt.want || !strings.Contains(gotErr, tt.wantErr) || (tt.wantErr == "") != (err == nil) {
			t.Errorf("%v: got %q, error %q; want %q, error %q", tt.env, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

// STS goes through the environment's proxy; instance metadata, the
// container agents and loopback never do.
func TestProxyBypass(t *testing.T) {
	proxyURL := &url.URL{Scheme: "http", Host: "proxy.internal:3128"}
	proxy := bypassLocal(func(*http.Request) (*url.URL, error) { return proxyURL, nil })
	for _, tt := range []struct {
		url   string
		proxy bool
	}{
		{"https://sts.eu-west-1.amazonaws.com/", true},
		{"https://sts.amazonaws.com/", true},
		{"https://pod-identity.example.com/creds", true},
		{"http://169.254.169.254/latest/api/token", false},
		{"http://[fd00:ec2::254]/latest/api/token", false},
		{"http://169.254.170.2/v2/credentials/x", false},
		{"http://169.254.170.23/v1/credentials", false},
		{"http://[fd00:ec2::23]/v1/credentials", false},
		{"http://127.0.0.1:8080/creds", false},
	} {
		req, err := http.NewRequest(http.MethodGet, tt.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := proxy(req)
		if err != nil || (got != nil) != tt.proxy {
			t.Errorf("%s: got proxy %v, %v; want proxied %v", tt.url, got, err, tt.proxy)
		}
	}
	if tr, ok := defaultClient().Transport.(*http.Transport); !ok || tr.Proxy == nil {
		t.Error("the default client has no proxy function")
	}
}

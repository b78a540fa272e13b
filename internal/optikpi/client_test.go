package optikpi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
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

	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
)

const testToken = "client-test-token-5b1e9d"

var testBody = []byte(`[{"account_id":"68911b7ad58ad825ec00c5ef","event_id":"e1","amount":500}]`)

// fastRetry keeps the retry tests quick.
var fastRetry = WithRetry(RetryPolicy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond})

// server is an httptest server under /apigw/ingest that counts requests and
// answers with the handler for the attempt number (1-based).
type server struct {
	*httptest.Server
	base     string
	requests atomic.Int32
}

func newServer(t *testing.T, h func(attempt int, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(s.requests.Add(1))
		h(n, w, r)
	}))
	t.Cleanup(s.Close)
	s.base = s.URL + "/apigw/ingest"
	return s
}

func newTestClient(t *testing.T, base string, opts ...ClientOption) *Client {
	t.Helper()
	c, err := NewClient(base, testAccount, testWorkspace, StaticToken(testToken), opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// sendErr sends testBody as a deposit batch and returns the *Error it must
// fail with.
func sendErr(t *testing.T, c *Client, ctx context.Context) *Error {
	t.Helper()
	resp, err := c.Send(ctx, KindDeposit, testBody)
	if err == nil {
		t.Fatalf("Send = %+v, nil; want an error", resp)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Send error %T %v; want an *Error", err, err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("the error text contains the token: %s", err)
	}
	return e
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		err    error
		want   Class
	}{
		{200, nil, Delivered},
		{201, nil, Delivered},
		{204, nil, Delivered},
		{400, nil, Rejected},
		{413, nil, Rejected},
		{422, nil, Rejected},
		{405, nil, Misconfigured}, // the method, never the records
		{415, nil, Misconfigured},
		{418, nil, Rejected},
		{401, nil, Misconfigured},
		{403, nil, Misconfigured},
		{404, nil, Misconfigured},
		{301, nil, Misconfigured},
		{307, nil, Misconfigured},
		{429, nil, Throttled},
		{408, nil, Transient},
		{500, nil, Transient},
		{502, nil, Transient},
		{503, nil, Transient},
		{504, nil, Transient},
		{599, nil, Transient},
		{0, errors.New("connection refused"), Transient},
		{0, context.DeadlineExceeded, Transient},
		{0, context.Canceled, Transient},
		{0, io.ErrUnexpectedEOF, Transient},
		{0, fmt.Errorf("post: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), Transient},
		{0, &url.Error{Op: "Post", URL: "https://x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, Misconfigured},
		{0, fmt.Errorf("post: %w", x509.HostnameError{Host: "gw.example.com", Certificate: &x509.Certificate{}}), Misconfigured},
	}
	for _, c := range cases {
		if got := Classify(c.status, c.err); got != c.want {
			t.Errorf("Classify(%d, %v) = %v; want %v", c.status, c.err, got, c.want)
		}
	}
}

func TestErrorIs(t *testing.T) {
	sentinels := map[Class]error{Rejected: ErrRejected, Misconfigured: ErrMisconfigured, Throttled: ErrThrottled, Transient: ErrTransient}
	for class, want := range sentinels {
		e := &Error{Class: class}
		for c2, other := range sentinels {
			if got := errors.Is(e, other); got != (c2 == class) {
				t.Errorf("errors.Is(%v error, %v) = %v; want %v", class, other, got, c2 == class)
			}
		}
		if !errors.Is(fmt.Errorf("wrapped: %w", e), want) {
			t.Errorf("a wrapped %v error does not match %v", class, want)
		}
	}
	e := &Error{Class: Transient, Err: context.Canceled}
	if !errors.Is(e, context.Canceled) {
		t.Errorf("errors.Is(%v, context.Canceled) = false; want true", e)
	}
}

func TestErrorText(t *testing.T) {
	api := &APIError{Error: "Bad Request", Message: "Validation failed: record 3: amount: must be a number"}
	api.Details.Field, api.Details.Issue = "[3].amount", "must be a number"
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Class: Rejected, Status: 400, API: api, Attempts: 1},
			`optikpi: rejected (HTTP 400 after 1 attempt): Bad Request: Validation failed: record 3: amount: must be a number (field "[3].amount": must be a number)`},
		{&Error{Class: Transient, Status: 502, Body: []byte("<html>bad gateway</html>"), Attempts: 3},
			`optikpi: transient (HTTP 502 after 3 attempts): body "<html>bad gateway</html>"`},
		{&Error{Class: Throttled, Status: 429, RetryAfter: 2 * time.Second, Attempts: 5},
			`optikpi: throttled (HTTP 429 after 5 attempts); retry after 2s`},
		{&Error{Class: Transient, Attempts: 2, Err: errors.New("dial tcp: connection refused")},
			`optikpi: transient (no response after 2 attempts): dial tcp: connection refused`},
		{&Error{Class: Rejected, Status: 413, Body: []byte(strings.Repeat("x", 300))},
			`optikpi: rejected (HTTP 413): body "` + strings.Repeat("x", 200) + `"…`},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() =\n %s\nwant\n %s", got, c.want)
		}
	}
}

func TestNewClientValidates(t *testing.T) {
	tok := StaticToken("t")
	cases := []struct {
		name                string
		base, account, work string
		token               TokenSource
		opts                []ClientOption
		want                string // substring of the error, "" for success
	}{
		{"ok", "https://gw.example.com/apigw/ingest", "a", "w", tok, nil, ""},
		{"ok trailing slash", "http://127.0.0.1:8080/apigw/ingest/", "a", "w", tok, nil, ""},
		{"unparsable", "http://[::1", "a", "w", tok, nil, "base URL"},
		{"no scheme", "gw.example.com/apigw/ingest", "a", "w", tok, nil, "scheme"},
		{"ftp", "ftp://gw.example.com/apigw/ingest", "a", "w", tok, nil, "scheme"},
		{"no host", "https:///apigw/ingest", "a", "w", tok, nil, "no host"},
		{"query", "https://gw.example.com/apigw/ingest?x=1", "a", "w", tok, nil, "query"},
		{"user info", "https://u:p@gw.example.com/apigw/ingest", "a", "w", tok, nil, "user information"},
		{"no account", "https://gw.example.com", " ", "w", tok, nil, "account id"},
		{"no workspace", "https://gw.example.com", "a", "", tok, nil, "workspace id"},
		{"no token source", "https://gw.example.com", "a", "w", nil, nil, "token source"},
		{"control character", "https://gw.example.com", "a\r\n", "w", tok, nil, "control characters"},
		{"negative attempts", "https://gw.example.com", "a", "w", tok, []ClientOption{WithRetry(RetryPolicy{MaxAttempts: -1})}, "max attempts"},
		{"min over max", "https://gw.example.com", "a", "w", tok, []ClientOption{WithRetry(RetryPolicy{MinBackoff: time.Minute, MaxBackoff: time.Second})}, "exceeds"},
		{"zero rate", "https://gw.example.com", "a", "w", tok, []ClientOption{WithRateLimits(map[Kind]rate.Limit{KindDeposit: 0})}, "rate limit"},
		{"bad kind rate", "https://gw.example.com", "a", "w", tok, []ClientOption{WithRateLimits(map[Kind]rate.Limit{Kind(42): 1})}, "rate limit"},
		{"negative error body", "https://gw.example.com", "a", "w", tok, []ClientOption{WithMaxErrorBody(-1)}, "error body"},
	}
	for _, c := range cases {
		_, err := NewClient(c.base, c.account, c.work, c.token, c.opts...)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: NewClient: %v; want success", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: NewClient error = %v; want one containing %q", c.name, err, c.want)
		}
	}
}

func TestSendDelivered(t *testing.T) {
	var mu sync.Mutex
	var got struct {
		path, method string
		header       http.Header
		body         []byte
	}
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got.path, got.method, got.header = r.URL.Path, r.Method, r.Header.Clone()
		got.body, _ = io.ReadAll(r.Body)
		reply(w, 200, `{"message":"1 record(s) processed successfully","recordIds":["e1"],"count":1}`)
	})
	c := newTestClient(t, s.base+"/")
	resp, err := c.Send(context.Background(), KindDeposit, testBody)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := Response{Message: "1 record(s) processed successfully", RecordIDs: []string{"e1"}, Count: 1}
	if resp.Message != want.Message || resp.Count != want.Count || len(resp.RecordIDs) != 1 || resp.RecordIDs[0] != "e1" {
		t.Errorf("response = %+v; want %+v", *resp, want)
	}
	if got.method != "POST" || got.path != "/apigw/ingest/events/deposit" {
		t.Errorf("request %s %s; want POST /apigw/ingest/events/deposit", got.method, got.path)
	}
	if string(got.body) != string(testBody) {
		t.Errorf("body sent = %s; want exactly %s", got.body, testBody)
	}
	signer := NewSigner(Credentials{Token: testToken, AccountID: testAccount, WorkspaceID: testWorkspace})
	wantHeaders := map[string]string{
		"X-Optikpi-Token":        testToken,
		"X-Optikpi-Account-Id":   testAccount,
		"X-Optikpi-Workspace-Id": testWorkspace,
		"X-Hmac-Signature":       signer.Sign(testBody),
		"X-Hmac-Algorithm":       "sha256",
		"Content-Type":           "application/json",
		"User-Agent":             buildinfo.UserAgent(),
	}
	for k, want := range wantHeaders {
		if v := got.header.Values(k); len(v) != 1 || v[0] != want {
			t.Errorf("header %s = %q; want exactly [%q]", k, v, want)
		}
	}
	if !signer.Verify(got.body, got.header.Get("X-Hmac-Signature")) {
		t.Errorf("the signature does not verify over the body received")
	}
}

func TestSendUserAgentAndOddSuccessBody(t *testing.T) {
	var ua atomic.Value
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		ua.Store(r.UserAgent())
		reply(w, 202, `not json`)
	})
	c := newTestClient(t, s.base, WithUserAgent("test-agent/1"))
	resp, err := c.Send(context.Background(), KindCustomer, testBody)
	if err != nil || resp == nil || resp.Message != "" || resp.Count != 0 || resp.RecordIDs != nil {
		t.Fatalf("Send = %+v, %v; want an empty response and no error: 2xx delivered the records", resp, err)
	}
	if got := ua.Load(); got != "test-agent/1" {
		t.Errorf("User-Agent = %v; want test-agent/1", got)
	}
}

// TestSendFinal covers the statuses that end a Send at once.
func TestSendFinal(t *testing.T) {
	apiBody := `{"error":"Bad Request","message":"Validation failed: record 3: amount: must be a number","details":{"field":"[3].amount","issue":"must be a number"}}`
	cases := []struct {
		status   int
		body     string
		class    Class
		sentinel error
		field    string // of the parsed API error, "" when none is expected
	}{
		{400, apiBody, Rejected, ErrRejected, "[3].amount"},
		{413, `{"error":"Payload Too Large","message":"body exceeds 6 MB"}`, Rejected, ErrRejected, ""},
		{422, `{"error":"Unprocessable","message":"x","details":{"field":"amount","issue":"bad"}}`, Rejected, ErrRejected, "amount"},
		{418, `I'm a teapot`, Misconfigured, ErrMisconfigured, ""}, // not the API's answer
		{418, `{"error":"I'm a teapot","message":"no"}`, Rejected, ErrRejected, ""},
		{401, `{"error":"Unauthorized","message":"Invalid HMAC signature"}`, Misconfigured, ErrMisconfigured, ""},
		{403, `{"error":"Forbidden","message":"token expired"}`, Misconfigured, ErrMisconfigured, ""},
		{404, `{"message":"Not Found"}`, Misconfigured, ErrMisconfigured, ""},
		{302, ``, Misconfigured, ErrMisconfigured, ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.status), func(t *testing.T) {
			s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if c.status == 302 {
					w.Header().Set("Location", "http://elsewhere.invalid/steal")
				}
				reply(w, c.status, c.body)
			})
			e := sendErr(t, newTestClient(t, s.base, fastRetry), context.Background())
			if e.Class != c.class || !errors.Is(e, c.sentinel) || e.Status != c.status || e.Attempts != 1 {
				t.Errorf("error = class %v, status %d, attempts %d; want %v, %d, 1", e.Class, e.Status, e.Attempts, c.class, c.status)
			}
			if n := s.requests.Load(); n != 1 {
				t.Errorf("server saw %d requests; want 1 (no retry)", n)
			}
			if string(e.Body) != c.body {
				t.Errorf("Body = %q; want %q", e.Body, c.body)
			}
			if c.field != "" && (e.API == nil || e.API.Details.Field != c.field) {
				t.Errorf("API = %+v; want details.field %q", e.API, c.field)
			}
			if c.status == 400 && (e.API.Error != "Bad Request" || e.API.Details.Issue != "must be a number" ||
				!strings.Contains(e.Error(), "[3].amount")) {
				t.Errorf("API = %+v, text %q; want the guide's error body parsed and named", e.API, e.Error())
			}
		})
	}
}

func TestSendThrottledHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var first, second time.Time
	s := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if n == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			reply(w, 429, `{"error":"Too Many Requests","message":"rate limit exceeded"}`)
			return
		}
		second = time.Now()
		reply(w, 200, `{"message":"ok","recordIds":["e1"],"count":1}`)
	})
	c := newTestClient(t, s.base, WithRetry(RetryPolicy{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Second}))
	resp, err := c.Send(context.Background(), KindDeposit, testBody)
	if err != nil || resp.Count != 1 {
		t.Fatalf("Send = %+v, %v; want count 1 after a retry", resp, err)
	}
	if n := s.requests.Load(); n != 2 {
		t.Errorf("server saw %d requests; want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	// A lower bound only: a timer never fires early.
	if gap := second.Sub(first); gap < time.Second {
		t.Errorf("retried %s after the 429; want at least the Retry-After of 1s", gap)
	}
}

func TestSendTransientRetriedThenDelivered(t *testing.T) {
	s := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) != string(testBody) {
			t.Errorf("attempt %d body = %s; want %s", n, body, testBody)
		}
		switch n {
		case 1:
			reply(w, 500, `{"error":"Internal Server Error"}`)
		case 2:
			reply(w, 503, `{"error":"Service Unavailable"}`)
		default:
			reply(w, 200, `{"message":"ok","recordIds":["e1"],"count":1}`)
		}
	})
	resp, err := newTestClient(t, s.base, fastRetry).Send(context.Background(), KindDeposit, testBody)
	if err != nil || resp.Count != 1 {
		t.Fatalf("Send = %+v, %v; want delivered", resp, err)
	}
	if n := s.requests.Load(); n != 3 {
		t.Errorf("server saw %d requests; want 3", n)
	}
}

func TestSendRetriesExhausted(t *testing.T) {
	cases := []struct {
		status int
		class  Class
		want   error
	}{
		{503, Transient, ErrTransient},
		{408, Transient, ErrTransient},
		{429, Throttled, ErrThrottled},
	}
	for _, c := range cases {
		s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			reply(w, c.status, `{"error":"busy"}`)
		})
		cl := newTestClient(t, s.base, WithRetry(RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}))
		e := sendErr(t, cl, context.Background())
		if !errors.Is(e, c.want) || e.Class != c.class || e.Attempts != 3 || e.Status != c.status || e.API == nil || e.API.Error != "busy" {
			t.Errorf("%d: error = %v (class %v, attempts %d, status %d, api %+v); want %v after 3 attempts with the last body",
				c.status, e, e.Class, e.Attempts, e.Status, e.API, c.class)
		}
		if n := s.requests.Load(); n != 3 {
			t.Errorf("%d: server saw %d requests; want 3", c.status, n)
		}
	}
}

func TestSendConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newTestClient(t, "http://"+addr+"/apigw/ingest", WithRetry(RetryPolicy{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}))
	e := sendErr(t, c, context.Background())
	if !errors.Is(e, ErrTransient) || e.Status != 0 || e.Attempts != 2 || e.Err == nil {
		t.Errorf("error = %v (status %d, attempts %d); want transient with no status after 2 attempts", e, e.Status, e.Attempts)
	}
}

func TestSendDroppedConnection(t *testing.T) {
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	})
	c := newTestClient(t, s.base, WithRetry(RetryPolicy{MaxAttempts: 2, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}))
	e := sendErr(t, c, context.Background())
	if !errors.Is(e, ErrTransient) || e.Status != 0 || e.Attempts != 2 {
		t.Errorf("error = %v (status %d, attempts %d); want transient with no status after 2 attempts", e, e.Status, e.Attempts)
	}
}

func TestSendAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			io.ReadAll(r.Body)
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		reply(w, 200, `{"message":"ok","count":1}`)
	})
	defer close(release)
	c := newTestClient(t, s.base, WithTimeout(50*time.Millisecond), fastRetry)
	resp, err := c.Send(context.Background(), KindDeposit, testBody)
	if err != nil || resp.Count != 1 {
		t.Fatalf("Send = %+v, %v; want the attempt after the timed-out one delivered", resp, err)
	}

	// With one attempt allowed, the timeout is the outcome.
	s2 := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // the server notices a closed connection only once the body is read
		<-r.Context().Done()
	})
	c2 := newTestClient(t, s2.base, WithTimeout(50*time.Millisecond), WithRetry(RetryPolicy{MaxAttempts: 1}))
	e := sendErr(t, c2, context.Background())
	if !errors.Is(e, ErrTransient) || e.Attempts != 1 || !strings.Contains(e.Error(), "timed out") {
		t.Errorf("error = %v (attempts %d); want a transient timeout after 1 attempt", e, e.Attempts)
	}
}

// TestSendContextDone: with unbounded retries, the context ends the Send and
// the error keeps the last status.
func TestSendContextDone(t *testing.T) {
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { reply(w, 503, `{}`) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// Unlimited: a limiter wait past the deadline would end the Send first.
	c := newTestClient(t, s.base, fastRetry, WithRateLimits(map[Kind]rate.Limit{KindDeposit: rate.Inf}))
	e := sendErr(t, c, ctx)
	if !errors.Is(e, ErrTransient) || !errors.Is(e, context.DeadlineExceeded) || e.Status != 503 || e.Attempts < 1 {
		t.Errorf("error = %v (status %d, attempts %d); want transient, deadline exceeded, last status 503", e, e.Status, e.Attempts)
	}
}

// TestSendWaitsOnRateLimiter: the limiter is consulted before the first
// attempt and before every retry. At one request per hour, the first attempt
// takes the only token; the retry cannot be made before the deadline, and a
// second Send cannot even start.
func TestSendWaitsOnRateLimiter(t *testing.T) {
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { reply(w, 503, `{}`) })
	c := newTestClient(t, s.base, fastRetry, WithRateLimits(map[Kind]rate.Limit{KindDeposit: rate.Every(time.Hour)}))
	for i, wantAttempts := range []int{1, 0} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		e := sendErr(t, c, ctx)
		cancel()
		if e.Attempts != wantAttempts || !errors.Is(e, ErrTransient) || !strings.Contains(e.Error(), "rate limit") {
			t.Errorf("send %d: error = %v (attempts %d); want transient after %d attempt(s), naming the rate limit", i+1, e, e.Attempts, wantAttempts)
		}
	}
	if n := s.requests.Load(); n != 1 {
		t.Errorf("server saw %d requests; want 1", n)
	}
	// Other endpoints have their own limiter.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, KindWithdraw, testBody)
	if e := (*Error)(nil); !errors.As(err, &e) || e.Attempts < 1 || e.Status != 503 {
		t.Errorf("withdraw Send error = %v; want the server's 503", err)
	}
}

func TestSendTokenNeverInError(t *testing.T) {
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Optikpi-Token")
		reply(w, 401, `{"error":"Unauthorized","message":"unknown token `+tok+`","details":{"field":"x-optikpi-token","issue":"`+tok+` is not valid"}}`)
	})
	e := sendErr(t, newTestClient(t, s.base), context.Background())
	if strings.Contains(string(e.Body), testToken) || e.API == nil || strings.Contains(e.API.Message+e.API.Details.Issue, testToken) {
		t.Errorf("the error keeps the token the server echoed: body %q, api %+v", e.Body, e.API)
	}
	if !errors.Is(e, ErrMisconfigured) {
		t.Errorf("error = %v; want misconfigured", e)
	}
}

func TestSendErrorBodyLimit(t *testing.T) {
	big := `{"error":"Bad Request","message":"` + strings.Repeat("x", 10000) + `"}`
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { reply(w, 400, big) })
	for _, c := range []struct {
		opts []ClientOption
		want int
	}{{nil, 4096}, {[]ClientOption{WithMaxErrorBody(100)}, 100}} {
		e := sendErr(t, newTestClient(t, s.base, c.opts...), context.Background())
		if len(e.Body) != c.want || e.API != nil {
			t.Errorf("read %d bytes of the error body, api %v; want %d and no API error (the JSON is cut)", len(e.Body), e.API, c.want)
		}
	}
}

// TestSendCutAPIErrorStillRejects: an error body in the API's format that is
// longer than the read limit no longer parses once cut, yet it is still the
// API blaming the records (Rejected), not a proxy's answer: taking it for a
// misconfiguration would stop the whole destination over one bad record.
func TestSendCutAPIErrorStillRejects(t *testing.T) {
	for _, c := range []struct {
		body string
		want Class
	}{
		{`{"error":"Bad Request","message":"` + strings.Repeat("x", 10000) + `"}`, Rejected},
		{`{"details":{"field":"[2].note","issue":"` + strings.Repeat("x", 10000) + `"},"error":"Bad Request"}`, Misconfigured}, // cut before "error"
		{`{"message":"` + strings.Repeat("x", 10000) + `"}`, Misconfigured},                                                    // a gateway's
		{`<html>` + strings.Repeat("x", 10000) + `</html>`, Misconfigured},
	} {
		s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { reply(w, 400, c.body) })
		e := sendErr(t, newTestClient(t, s.base, WithMaxErrorBody(100)), context.Background())
		if e.Class != c.want {
			t.Errorf("400 with %.40q… cut at 100 bytes: class %v; want %v", c.body, e.Class, c.want)
		}
	}
}

func TestSendTokenFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	writeToken := func(tok string) {
		// As a Secret volume does: write aside, then swap in.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	writeToken("first-token")
	var mu sync.Mutex
	var seen []string
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tok := r.Header.Get("X-Optikpi-Token")
		mu.Lock()
		seen = append(seen, tok)
		mu.Unlock()
		signer := NewSigner(Credentials{Token: tok, AccountID: testAccount, WorkspaceID: testWorkspace})
		if !signer.Verify(body, r.Header.Get("X-Hmac-Signature")) {
			reply(w, 401, `{"error":"Unauthorized","message":"Invalid HMAC signature"}`)
			return
		}
		reply(w, 200, `{"message":"ok","count":1}`)
	})
	c, err := NewClient(s.base, testAccount, testWorkspace, NewFileToken(path))
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for i, tok := range []string{"first-token", "first-token", "second-token", "second-token", "a-third-token-longer"} {
		if i > 0 && tok != prev {
			writeToken(tok)
		}
		prev = tok
		if _, err := c.Send(context.Background(), KindDeposit, testBody); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
		mu.Lock()
		if seen[i] != tok {
			t.Errorf("send %d carried token %q; want %q", i+1, seen[i], tok)
		}
		mu.Unlock()
	}

	os.Remove(path)
	e := sendErr(t, c, context.Background())
	if !errors.Is(e, ErrMisconfigured) || !strings.Contains(e.Error(), path) || e.Attempts != 0 {
		t.Errorf("error = %v (attempts %d); want misconfigured naming %s, nothing sent", e, e.Attempts, path)
	}
}

// TestSendConcurrentTokenChange runs Sends while the token changes, for the
// race detector and the signer cache.
func TestSendConcurrentTokenChange(t *testing.T) {
	var tok atomic.Value
	tok.Store("token-0")
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		signer := NewSigner(Credentials{Token: r.Header.Get("X-Optikpi-Token"), AccountID: testAccount, WorkspaceID: testWorkspace})
		if !signer.Verify(body, r.Header.Get("X-Hmac-Signature")) {
			reply(w, 401, `{}`)
			return
		}
		reply(w, 200, `{"count":1}`)
	})
	c, err := NewClient(s.base, testAccount, testWorkspace, tokenFunc(func() (string, error) { return tok.Load().(string), nil }),
		WithRateLimits(map[Kind]rate.Limit{KindDeposit: rate.Inf}))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 20 {
				if g == 0 && i%5 == 0 {
					tok.Store(fmt.Sprintf("token-%d", i))
				}
				if _, err := c.Send(context.Background(), KindDeposit, testBody); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

type tokenFunc func() (string, error)

func (f tokenFunc) Token() (string, error) { return f() }

func TestSendTokenSourceErrors(t *testing.T) {
	s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) { reply(w, 200, `{}`) })
	for _, src := range []TokenSource{StaticToken(""), StaticToken("tok\nen"), tokenFunc(func() (string, error) { return "", errors.New("vault sealed") })} {
		c, err := NewClient(s.base, testAccount, testWorkspace, src)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Send(context.Background(), KindDeposit, testBody); !errors.Is(err, ErrMisconfigured) {
			t.Errorf("Send with a failing token source: %v; want misconfigured", err)
		}
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("server saw %d requests; want none without a token", n)
	}
}

func TestHealth(t *testing.T) {
	cases := []struct {
		status  int
		want    Health
		wantErr bool
	}{
		{200, HealthOK, false},
		{204, HealthOK, false},
		{404, HealthUnknown, false},
		{503, HealthDown, true},
		{401, HealthDown, true},
	}
	for _, c := range cases {
		var mu sync.Mutex
		var path, tok, method string
		s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			path, tok, method = r.URL.Path, r.Header.Get("X-Optikpi-Token"), r.Method
			w.WriteHeader(c.status)
		})
		got, err := newTestClient(t, s.base).Health(context.Background())
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%d: Health = %v, %v; want %v, error %v", c.status, got, err, c.want, c.wantErr)
		}
		mu.Lock()
		if method != "GET" || path != "/apigw/ingest/datapipeline/health" || tok != "" {
			t.Errorf("%d: health request %s %s with token %q; want GET /apigw/ingest/datapipeline/health without credentials", c.status, method, path, tok)
		}
		mu.Unlock()
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if got, err := newTestClient(t, "http://"+addr).Health(context.Background()); got != HealthDown || !errors.Is(err, ErrTransient) {
		t.Errorf("Health of a closed port = %v, %v; want down, transient", got, err)
	}
}

func TestBackoff(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 2 * time.Second
	withRA := func(v string) *http.Response {
		return &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {v}}}
	}
	cases := []struct {
		attempt  int
		resp     *http.Response
		min, max time.Duration
	}{
		{0, nil, lo / 2, lo},
		{1, nil, lo, 2 * lo},
		{3, nil, 4 * lo, 8 * lo},
		{10, nil, hi / 2, hi},
		{1000, nil, hi / 2, hi},
		{0, withRA("1"), time.Second, time.Second},
		{0, withRA("3600"), hi, hi}, // capped at MaxBackoff
		{0, withRA(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)), hi, hi},
		{0, withRA("soon"), lo / 2, lo},
	}
	for _, c := range cases {
		for range 20 {
			if got := backoff(lo, hi, c.attempt, c.resp); got < c.min || got > c.max {
				t.Errorf("backoff(attempt %d, %v) = %s; want within [%s, %s]", c.attempt, c.resp, got, c.min, c.max)
				break
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"2", 2 * time.Second},
		{" 7 ", 7 * time.Second},
		{"99999999999", 24 * time.Hour},
		{"Wed, 01 Apr 2026 12:00:30 GMT", 30 * time.Second},
		{"Wed, 01 Apr 2026 11:00:00 GMT", 0},
		{"later", 0},
	}
	for _, c := range cases {
		if got := retryAfter(http.Header{"Retry-After": {c.v}}, now); got != c.want {
			t.Errorf("retryAfter(%q) = %s; want %s", c.v, got, c.want)
		}
	}
}

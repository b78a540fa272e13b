package optikpi

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
)

// TokenSource yields the current API token. A source backed by a file
// re-reads it, so rotating a mounted Secret takes effect without a restart.
type TokenSource interface {
	Token() (string, error)
}

// StaticToken is a TokenSource that never changes.
type StaticToken string

// Token returns the token.
func (t StaticToken) Token() (string, error) { return string(t), nil }

// Response is the API's answer to a delivered batch.
type Response struct {
	Message   string   `json:"message"`
	RecordIDs []string `json:"recordIds"`
	Count     int      `json:"count"`
}

// APIError is the API's error body.
type APIError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Details struct {
		Field string `json:"field"`
		Issue string `json:"issue"`
	} `json:"details"`
}

// Class is what an outcome means for the records of a batch.
type Class uint8

const (
	// Delivered: the API acknowledged every record (2xx).
	Delivered Class = iota
	// Rejected: 413, or 400, 422 and other 4xx with a body in the API's
	// error format; permanent for these records.
	Rejected
	// Misconfigured: 401, 403 (credentials), 404 (base URL or path), a 4xx
	// about the request's envelope, or a 4xx that is not the API's answer
	// (a proxy's); never a per-record problem.
	Misconfigured
	// Throttled: 429; RetryAfter says when to try again if the API said so.
	Throttled
	// Transient: 5xx, timeouts and connection errors.
	Transient
)

func (c Class) String() string {
	switch c {
	case Delivered:
		return "delivered"
	case Rejected:
		return "rejected"
	case Misconfigured:
		return "misconfigured"
	case Throttled:
		return "throttled"
	case Transient:
		return "transient"
	}
	return fmt.Sprintf("Class(%d)", uint8(c))
}

// Sentinel errors, one per failing class; an *Error matches its class's with
// errors.Is.
var (
	ErrRejected      = errors.New("optikpi: batch rejected")
	ErrMisconfigured = errors.New("optikpi: destination misconfigured")
	ErrThrottled     = errors.New("optikpi: throttled")
	ErrTransient     = errors.New("optikpi: transient failure")
)

// Error is a failed send.
type Error struct {
	Class      Class
	Status     int           // HTTP status, 0 when no response arrived
	API        *APIError     // parsed error body, nil when the body was not one
	Body       []byte        // the error body as read, at most a few KiB
	RetryAfter time.Duration // from Retry-After, 0 when absent
	Attempts   int           // HTTP attempts made for this batch
	Err        error         // underlying transport error, if any
}

// Error describes the outcome: class, status, attempts, and the API's
// message, field and issue, or the start of a body that was not an API error.
// The token is never part of it: Send scrubs it from what the server said.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("optikpi: ")
	b.WriteString(e.Class.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
	} else {
		b.WriteString(" (no response")
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " after %d attempt", e.Attempts)
		if e.Attempts > 1 {
			b.WriteByte('s')
		}
	}
	b.WriteByte(')')
	switch {
	case e.API != nil:
		if e.API.Error != "" {
			b.WriteString(": ")
			b.WriteString(e.API.Error)
		}
		if e.API.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.API.Message)
		}
		if d := e.API.Details; d.Field != "" || d.Issue != "" {
			fmt.Fprintf(&b, " (field %q: %s)", d.Field, d.Issue)
		}
	case len(e.Body) > 0:
		const max = 200
		body := e.Body
		if len(body) > max {
			body = body[:max]
		}
		fmt.Fprintf(&b, ": body %q", body)
		if len(e.Body) > max {
			b.WriteString("…")
		}
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Is matches the sentinel of e's class.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrRejected:
		return e.Class == Rejected
	case ErrMisconfigured:
		return e.Class == Misconfigured
	case ErrThrottled:
		return e.Class == Throttled
	case ErrTransient:
		return e.Class == Transient
	}
	return false
}

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Classify is the one place that decides what a response status or a
// transport error means. status is 0 when err is the transport's error.
//
// Beyond the guide's table: 408 is Transient (the server gave up waiting, not
// on the records); a 4xx about the request's envelope, which every request
// shares whatever its records (405, 406, 407, 410, 411, 414, 415, 421, 426,
// 431), is Misconfigured; another 4xx the guide does not list is Rejected,
// because the server refused these bytes and sending them again would get
// the same answer, so the records must go to the dead-letter topic with the
// server's reason rather than block their partition forever. Send refines
// Rejected with the body (ClassifyAnswer): only the API blames records.
// 1xx and 3xx (the client never follows redirects: they would carry the
// token to another address) mean the base URL is wrong, Misconfigured; a TLS
// certificate the client cannot verify is Misconfigured too, since retrying
// cannot fix it. Every other transport error, timeouts and cancellation
// included, is Transient.
func Classify(status int, err error) Class {
	if status == 0 {
		if err == nil {
			return Transient
		}
		var (
			unknownCA  x509.UnknownAuthorityError
			invalid    x509.CertificateInvalidError
			hostname   x509.HostnameError
			verifyFail *tls.CertificateVerificationError
		)
		if errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.As(err, &verifyFail) {
			return Misconfigured
		}
		return Transient
	}
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound:
		return Misconfigured
	case status == http.StatusTooManyRequests:
		return Throttled
	case status == http.StatusRequestTimeout:
		return Transient
	case envelopeStatus(status):
		return Misconfigured
	case status >= 400 && status < 500:
		return Rejected // 400, 413, 422 and the 4xx the guide does not list
	case status < 400:
		return Misconfigured
	}
	return Transient
}

// envelopeStatus reports whether a 4xx refuses what every request shares
// (method, path, headers, content type), never a batch's records.
func envelopeStatus(status int) bool {
	switch status {
	case http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusProxyAuthRequired,
		http.StatusGone, http.StatusLengthRequired, http.StatusRequestURITooLong,
		http.StatusUnsupportedMediaType, http.StatusMisdirectedRequest, http.StatusUpgradeRequired,
		http.StatusRequestHeaderFieldsTooLarge:
		return true
	}
	return false
}

// ClassifyAnswer is Classify for an error answer whose body was parsed:
// api is nil when the body is not in the API's error format (ParseAPIError).
// Only the API itself blames records: a Rejected status with another body
// (a proxy's or a gateway's HTML or JSON) is Misconfigured, so the
// destination's gate closes and nothing is dead-lettered, since the request
// never reached the API's validation and a batch split to single records
// would get the same answer for each. 413 stays Rejected whoever says it:
// the size is the request's own, and splitting it helps.
func ClassifyAnswer(status int, api *APIError) Class {
	c := Classify(status, nil)
	if c == Rejected && api == nil && status != http.StatusRequestEntityTooLarge {
		return Misconfigured
	}
	return c
}

// ParseAPIError parses an error body in the API's error format: a JSON
// object with a non-empty string "error", and when present a string
// "message" and an object "details" with "field" and "issue". It returns nil
// for any other body, such as a gateway's {"message": "..."} or HTML.
func ParseAPIError(body []byte) *APIError {
	var wire struct {
		Error   *string `json:"error"`
		Message *string `json:"message"`
		Details *struct {
			Field string `json:"field"`
			Issue string `json:"issue"`
		} `json:"details"`
	}
	if json.Unmarshal(body, &wire) != nil || wire.Error == nil || *wire.Error == "" {
		return nil
	}
	api := &APIError{Error: *wire.Error}
	if wire.Message != nil {
		api.Message = *wire.Message
	}
	if wire.Details != nil {
		api.Details.Field, api.Details.Issue = wire.Details.Field, wire.Details.Issue
	}
	return api
}

// apiErrorPrefix reports whether body starts as the API's error format, an
// object whose "error" is a non-empty string, before it ends or breaks off.
func apiErrorPrefix(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for {
		t, err := dec.Token()
		key, ok := t.(string)
		if err != nil || !ok {
			return false
		}
		if key == "error" {
			v, err := dec.Token()
			s, ok := v.(string)
			return err == nil && ok && s != ""
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
}

// RetryPolicy says how Send retries throttled and transient failures.
type RetryPolicy struct {
	// MaxAttempts bounds the HTTP attempts per batch, the first included.
	// 0 (the default) retries until the context is done: nothing may be
	// lost, so the caller's context is the deadline.
	MaxAttempts int
	// MinBackoff bounds the wait after the first failed attempt (jitter
	// draws it from half that to all of it); it doubles with every
	// further attempt. Default 200ms.
	MinBackoff time.Duration
	// MaxBackoff caps the wait between two attempts, a Retry-After
	// included. Default 30s.
	MaxBackoff time.Duration
}

const (
	defaultTimeout      = 30 * time.Second
	defaultMinBackoff   = 200 * time.Millisecond
	defaultMaxBackoff   = 30 * time.Second
	defaultMaxErrorBody = 4 << 10
	// maxResponseBody bounds the success body read: a 500-record answer's
	// ids take some tens of KiB.
	maxResponseBody = 1 << 20
	// drainLimit is how much of an unread body is discarded so that the
	// connection can be reused; beyond it the connection is closed.
	drainLimit = 64 << 10
	// HealthPath is relative to the base URL, like the guide's other
	// endpoints: {gateway}/apigw/ingest/datapipeline/health.
	HealthPath = "/datapipeline/health"
)

// DefaultRateLimits returns the guide's limits per endpoint: 50 requests per
// second for customer profiles and extended attributes, 250 for every event
// endpoint.
func DefaultRateLimits() map[Kind]rate.Limit {
	m := make(map[Kind]rate.Limit, len(kinds)-1)
	for _, k := range Kinds() {
		m[k] = k.RateLimit()
	}
	return m
}

// ClientOption configures a Client.
type ClientOption func(*clientConfig)

type clientConfig struct {
	httpClient   *http.Client
	timeout      time.Duration
	userAgent    string
	retry        RetryPolicy
	limits       map[Kind]rate.Limit
	maxErrorBody int
	logger       *zap.Logger
	rateWait     func(Kind, time.Duration) // see WithRateWaitObserver
}

// WithHTTPClient sets the HTTP client whose transport carries the requests
// (TLS settings, proxies, connection pool). The client uses a copy that
// never follows redirects; the copy keeps hc's Timeout, if any, which then
// bounds each attempt including its rate-limiter wait, so prefer
// WithTimeout. Default: a client with its own pooled transport.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *clientConfig) { c.httpClient = hc }
}

// WithTimeout bounds each HTTP attempt, from sending the request to reading
// the response body; the wait on the rate limiter is not part of it. 0 or
// less means no bound but the context's. Default 30s, as the SDKs.
func WithTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) { c.timeout = d }
}

// WithUserAgent sets the User-Agent header. Default buildinfo.UserAgent(),
// such as "optikpi-relay/v1.2.3".
func WithUserAgent(ua string) ClientOption {
	return func(c *clientConfig) { c.userAgent = ua }
}

// WithRetry sets the retry policy; zero fields take their defaults. Default:
// retry until the context is done, backing off from 200ms to 30s.
func WithRetry(p RetryPolicy) ClientOption {
	return func(c *clientConfig) { c.retry = p }
}

// WithRateLimits overrides the requests per second allowed to the endpoints
// of the given kinds; kinds not in limits keep theirs. rate.Inf disables the
// limit. Default DefaultRateLimits(): the guide's 50 req/s for customer
// profiles and extended attributes, 250 req/s for every event endpoint.
func WithRateLimits(limits map[Kind]rate.Limit) ClientOption {
	return func(c *clientConfig) {
		for k, l := range limits {
			c.limits[k] = l
		}
	}
}

// WithMaxErrorBody bounds how much of an error response body is read (and
// kept in Error.Body). Default 4 KiB.
func WithMaxErrorBody(n int) ClientOption {
	return func(c *clientConfig) { c.maxErrorBody = n }
}

// WithLogger sets the logger for retries and token changes (debug and info
// levels). Default: no logging.
func WithLogger(l *zap.Logger) ClientOption {
	return func(c *clientConfig) { c.logger = l }
}

// Client sends signed batches to one destination (base URL, account,
// workspace). It is safe for concurrent use.
type Client struct {
	base        string // without a trailing slash
	accountID   string
	workspaceID string
	tokens      TokenSource
	cfg         clientConfig
	log         *zap.Logger

	http     *http.Client // never follows redirects; attemptTransport inside
	retry    *retryablehttp.Client
	limiters [len(kinds)]*rate.Limiter // nil: unlimited
	urls     [len(kinds)]string        // of each kind's endpoint
	// headers are the values every request carries, built once: the
	// transport only reads a request's header values, so they are shared.
	headers struct{ account, workspace, algorithm, contentType, userAgent []string }

	signer atomic.Pointer[tokenSigner] // for the last token seen
}

// tokenSigner is a signer with the token it was derived from.
type tokenSigner struct {
	token  string
	header []string // the token header's value, shared like Client.headers
	signer *Signer
}

// NewClient validates its arguments and returns a client for the API at
// baseURL (such as "https://gw.example.com/apigw/ingest").
func NewClient(baseURL, accountID, workspaceID string, token TokenSource, opts ...ClientOption) (*Client, error) {
	cfg := clientConfig{
		timeout:      defaultTimeout,
		userAgent:    buildinfo.UserAgent(),
		limits:       DefaultRateLimits(),
		maxErrorBody: defaultMaxErrorBody,
	}
	for _, o := range opts {
		o(&cfg)
	}
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("optikpi: base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("optikpi: base URL %q: scheme must be http or https", baseURL)
	case u.Host == "":
		return nil, fmt.Errorf("optikpi: base URL %q has no host", baseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("optikpi: base URL %q must not have a query or fragment", baseURL)
	case u.User != nil:
		return nil, errors.New("optikpi: base URL must not carry user information")
	case strings.TrimSpace(accountID) == "":
		return nil, errors.New("optikpi: account id is empty")
	case strings.TrimSpace(workspaceID) == "":
		return nil, errors.New("optikpi: workspace id is empty")
	case !validHeaderValue(accountID) || !validHeaderValue(workspaceID):
		return nil, errors.New("optikpi: account and workspace ids must not contain control characters")
	case token == nil:
		return nil, errors.New("optikpi: token source is nil")
	case cfg.maxErrorBody < 0:
		return nil, fmt.Errorf("optikpi: max error body %d is negative", cfg.maxErrorBody)
	case cfg.retry.MaxAttempts < 0:
		return nil, fmt.Errorf("optikpi: retry: max attempts %d is negative", cfg.retry.MaxAttempts)
	case cfg.retry.MinBackoff < 0 || cfg.retry.MaxBackoff < 0:
		return nil, errors.New("optikpi: retry: backoffs must not be negative")
	}
	if cfg.retry.MinBackoff == 0 {
		cfg.retry.MinBackoff = defaultMinBackoff
	}
	if cfg.retry.MaxBackoff == 0 {
		cfg.retry.MaxBackoff = defaultMaxBackoff
	}
	if cfg.retry.MinBackoff > cfg.retry.MaxBackoff {
		return nil, fmt.Errorf("optikpi: retry: min backoff %s exceeds max backoff %s", cfg.retry.MinBackoff, cfg.retry.MaxBackoff)
	}
	for k, l := range cfg.limits {
		if !k.Valid() {
			return nil, fmt.Errorf("optikpi: rate limit for invalid %v", k)
		}
		if l <= 0 {
			return nil, fmt.Errorf("optikpi: rate limit for %v is %v; want > 0 (rate.Inf for none)", k, l)
		}
	}
	if cfg.logger == nil {
		cfg.logger = zap.NewNop()
	}

	c := &Client{
		base:        strings.TrimRight(baseURL, "/"),
		accountID:   accountID,
		workspaceID: workspaceID,
		tokens:      token,
		cfg:         cfg,
		log:         cfg.logger.With(zap.String("base_url", u.Redacted())),
	}
	for _, k := range Kinds() {
		c.urls[k] = c.base + k.Endpoint()
	}
	c.headers.account = []string{accountID}
	c.headers.workspace = []string{workspaceID}
	c.headers.algorithm = []string{"sha256"}
	c.headers.contentType = []string{"application/json"}
	c.headers.userAgent = []string{cfg.userAgent}
	for k, l := range cfg.limits {
		if l != rate.Inf {
			// Burst 1 paces requests evenly, so no window of any length
			// sees more than the limit.
			c.limiters[k] = rate.NewLimiter(l, 1)
		}
	}

	var hc http.Client
	if cfg.httpClient != nil {
		hc = *cfg.httpClient
	} else {
		hc.Transport = NewTransport()
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &attemptTransport{next: next, timeout: cfg.timeout, rateWait: cfg.rateWait,
		timedOut: fmt.Errorf("optikpi: attempt timed out after %s", cfg.timeout)}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc

	retryMax := cfg.retry.MaxAttempts - 1
	if cfg.retry.MaxAttempts == 0 {
		retryMax = int(^uint(0) >> 1)
	}
	c.retry = &retryablehttp.Client{
		HTTPClient:   c.http,
		RetryWaitMin: cfg.retry.MinBackoff,
		RetryWaitMax: cfg.retry.MaxBackoff,
		RetryMax:     retryMax,
		CheckRetry:   c.checkRetry,
		Backoff:      backoff,
		// Hand the last response back as it is: Send reads and classifies it.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return c, nil
}

// NewTransport returns the transport a Client uses when not given one: the
// default transport with more idle connections per host, since the
// standard 2 would reconnect under concurrent batches. The caller owns it
// (CloseIdleConnections when done).
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// sendState follows one Send through its attempts.
type sendState struct {
	kind     Kind
	limiter  *rate.Limiter
	attempts int
	status   int // of the last response, 0 when none
	header   http.Header
}

type stateKey struct{}

func stateOf(ctx context.Context) *sendState {
	s, _ := ctx.Value(stateKey{}).(*sendState)
	return s
}

// Send posts body, a JSON array of up to 500 records of kind, to kind's
// endpoint, signed over exactly these bytes. It retries throttled and
// transient failures as the client's retry policy says, waiting on the
// endpoint's rate limiter before every attempt, and returns the API's
// response, or an *Error once the outcome is final.
//
// The token is read from the TokenSource on every call; a token that cannot
// be read is a Misconfigured error. When ctx is done between or during
// attempts, or the rate limiter cannot allow the next attempt before ctx's
// deadline, Send returns at once: the *Error has the class and status of the
// last outcome (Transient when there was none) and wraps the context's or the
// limiter's error.
func (c *Client) Send(ctx context.Context, kind Kind, body []byte) (*Response, error) {
	return c.send(ctx, kind, body, nil, true)
}

// Post is Send for a caller that reuses its bodies and has no use for the
// record ids of the answer: a delivered batch's answer is discarded
// unparsed. release, when not nil, is called exactly once when no attempt
// reads body any more; only then may the caller write over body. That may
// be after Post returns, from another goroutine: the transport may still be
// writing an attempt's body after its answer came.
func (c *Client) Post(ctx context.Context, kind Kind, body []byte, release func()) error {
	_, err := c.send(ctx, kind, body, release, false)
	return err
}

func (c *Client) send(ctx context.Context, kind Kind, body []byte, release func(), parse bool) (*Response, error) {
	var held *heldBody
	if release != nil {
		held = newHeldBody(body, release)
		defer held.drop()
	}
	if !kind.Valid() {
		return nil, &Error{Class: Misconfigured, Err: fmt.Errorf("optikpi: send to invalid %v", kind)}
	}
	ts, err := c.currentSigner()
	if err != nil {
		return nil, &Error{Class: Misconfigured, Err: err}
	}
	token := ts.token
	st := &sendState{kind: kind, limiter: c.limiters[kind]}
	ctx = context.WithValue(ctx, stateKey{}, st)
	var raw any = body
	if held != nil {
		raw = held.open
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, c.urls[kind], raw)
	if err != nil {
		return nil, &Error{Class: Misconfigured, Err: fmt.Errorf("optikpi: build request: %w", err)}
	}
	h := req.Header
	h["X-Optikpi-Token"] = ts.header
	h["X-Optikpi-Account-Id"] = c.headers.account
	h["X-Optikpi-Workspace-Id"] = c.headers.workspace
	h["X-Hmac-Signature"] = []string{ts.signer.Sign(body)}
	h["X-Hmac-Algorithm"] = c.headers.algorithm
	h["Content-Type"] = c.headers.contentType
	h["User-Agent"] = c.headers.userAgent

	resp, err := c.retry.Do(req)
	if err != nil {
		if resp != nil {
			drain(resp.Body)
		}
		class := Classify(0, err)
		if st.status != 0 && (ctx.Err() != nil || errors.Is(err, errRateWait)) {
			// Stopped before the outcome was final: report the last one.
			class = Classify(st.status, nil)
		}
		return nil, &Error{Class: class, Status: st.status, RetryAfter: retryAfter(st.header, time.Now()),
			Attempts: st.attempts, Err: scrubErr(err, token)}
	}
	defer drain(resp.Body)

	if Classify(resp.StatusCode, nil) == Delivered {
		if !parse {
			return nil, nil
		}
		return c.readResponse(resp, kind), nil
	}
	e := &Error{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header, time.Now()), Attempts: st.attempts}
	// Scrubbed before it is cut, and again once decoded: a server may echo
	// the token across the limit, or JSON-escaped.
	e.Body, err = readScrubbed(resp.Body, c.cfg.maxErrorBody, token)
	if err != nil {
		e.Err = scrubErr(fmt.Errorf("optikpi: read error body: %w", err), token)
	}
	if api := ParseAPIError(e.Body); api != nil {
		for _, f := range []*string{&api.Error, &api.Message, &api.Details.Field, &api.Details.Issue} {
			*f = scrubString(*f, token)
		}
		e.API = api
	}
	api := e.API
	if api == nil && apiErrorPrefix(e.Body) {
		// Cut at the read limit, the API's answer no longer parses; it
		// still blames the records, which a proxy's answer does not.
		api = &APIError{}
	}
	e.Class = ClassifyAnswer(resp.StatusCode, api)
	return nil, e
}

// readResponse parses a 2xx body. The records are delivered whatever the
// body says, so a body that is not the documented one yields an empty
// Response rather than an error.
func (c *Client) readResponse(resp *http.Response, kind Kind) *Response {
	out := new(Response)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err == nil && len(bytes.TrimSpace(b)) > 0 {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		c.log.Debug("unreadable success body", zap.Stringer("kind", kind), zap.Int("status", resp.StatusCode), zap.Error(err))
	}
	return out
}

// currentSigner reads the token and returns it with its signer, deriving the
// key again only when the token changed.
func (c *Client) currentSigner() (*tokenSigner, error) {
	token, err := c.tokens.Token()
	if err != nil {
		return nil, fmt.Errorf("optikpi: read token: %w", err)
	}
	if token == "" {
		return nil, errors.New("optikpi: the token source returned an empty token")
	}
	if !validHeaderValue(token) {
		// Else every attempt would fail in the transport, and be retried.
		return nil, errors.New("optikpi: the token contains control characters")
	}
	if ts := c.signer.Load(); ts != nil && ts.token == token {
		return ts, nil
	}
	ts := &tokenSigner{token: token, header: []string{token},
		signer: NewSigner(Credentials{Token: token, AccountID: c.accountID, WorkspaceID: c.workspaceID})}
	if old := c.signer.Swap(ts); old != nil {
		c.log.Info("API token changed; signing with the new one")
	}
	return ts, nil
}

// checkRetry is retryablehttp's CheckRetry: Classify decides, and only
// Throttled and Transient outcomes are retried.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err() // keep the last outcome for the *Error
	}
	if errors.Is(err, errRateWait) {
		return false, err // nothing was sent; waiting longer cannot help
	}
	st := stateOf(ctx)
	status, header := 0, http.Header(nil)
	if resp != nil {
		status, header = resp.StatusCode, resp.Header
	}
	st.status, st.header = status, header
	class := Classify(status, err)
	retry := class == Throttled || class == Transient
	if retry {
		c.log.Debug("attempt failed; retrying", zap.Stringer("kind", st.kind), zap.Int("attempt", st.attempts),
			zap.Int("status", status), zap.Stringer("class", class), zap.Error(err))
	}
	if err != nil && !retry {
		return false, err
	}
	return retry, nil
}

// errRateWait marks a rate limiter wait that cannot end before the context
// does.
var errRateWait = errors.New("optikpi: rate limit wait")

// backoff is retryablehttp's Backoff: exponential from min, doubling per
// attempt up to max, with "equal jitter" (a random wait between half and all
// of it) so that concurrent senders spread out. A Retry-After longer than
// that is honoured up to max: a server asking for an hour must not stall a
// batch for an hour, and the rate limiter and the next 429 still hold the
// pace down.
func backoff(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
	d := hi
	if attempt < 32 && lo<<attempt > 0 && lo<<attempt < hi {
		d = lo << attempt
	}
	d = d/2 + rand.N(d/2+1)
	if resp != nil {
		d = max(d, retryAfter(resp.Header, time.Now()))
	}
	return min(d, hi)
}

// retryAfter parses Retry-After, seconds or an HTTP date; 0 when absent,
// invalid or past.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// validHeaderValue reports whether s can be sent as a header value as is.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// scrubErr keeps the token out of a transport error's text, whatever it
// quotes; errors.Is and As still see the original.
func scrubErr(err error, token string) error {
	if err == nil || token == "" {
		return err
	}
	text := scrubString(err.Error(), token)
	if text == err.Error() {
		return err
	}
	return &scrubbed{err: err, text: text}
}

type scrubbed struct {
	err  error
	text string
}

func (s *scrubbed) Error() string { return s.text }
func (s *scrubbed) Unwrap() error { return s.err }

// drain discards a little of what is left of body, so the connection can be
// reused, and closes it.
func drain(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	body.Close()
}

// Health is the answer of the health check.
type Health uint8

const (
	HealthUnknown Health = iota // the API has no health endpoint (404)
	HealthOK
	HealthDown
)

func (h Health) String() string {
	switch h {
	case HealthUnknown:
		return "unknown"
	case HealthOK:
		return "ok"
	case HealthDown:
		return "down"
	}
	return fmt.Sprintf("Health(%d)", uint8(h))
}

// Health calls GET /datapipeline/health. A 404 means the API has no health
// endpoint: HealthUnknown, not down.
//
// The path is relative to the base URL, like every endpoint of the guide's
// table: {gateway}/apigw/ingest/datapipeline/health. Like the SDKs, the call
// carries no credentials; it makes one attempt, bounded by the per-attempt
// timeout, and is not rate limited (the guide says "no limit"). Anything but
// 2xx or 404 is HealthDown with an *Error.
func (c *Client) Health(ctx context.Context) (Health, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+HealthPath, nil)
	if err != nil {
		return HealthDown, &Error{Class: Misconfigured, Err: fmt.Errorf("optikpi: build request: %w", err)}
	}
	req.Header.Set("User-Agent", c.cfg.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return HealthDown, &Error{Class: Classify(0, err), Attempts: 1, Err: err}
	}
	defer drain(resp.Body)
	switch class := Classify(resp.StatusCode, nil); {
	case class == Delivered:
		return HealthOK, nil
	case resp.StatusCode == http.StatusNotFound:
		return HealthUnknown, nil
	default:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, int64(c.cfg.maxErrorBody)))
		return HealthDown, &Error{Class: class, Status: resp.StatusCode, Body: body, Attempts: 1,
			RetryAfter: retryAfter(resp.Header, time.Now())}
	}
}

// attemptTransport waits on the endpoint's rate limiter before every
// attempt, counts the attempts, and bounds each by the per-attempt timeout,
// which the wait is not part of. It deliberately lacks CloseIdleConnections:
// retryablehttp calls that whenever one Send gives up, which would empty the
// pool under every other Send.
type attemptTransport struct {
	next     http.RoundTripper
	timeout  time.Duration
	rateWait func(Kind, time.Duration) // nil: not observed
	timedOut error                     // the cause of an attempt's timeout, made once
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if st := stateOf(req.Context()); st != nil {
		if st.limiter != nil {
			start := time.Now()
			err := st.limiter.Wait(req.Context())
			if t.rateWait != nil {
				t.rateWait(st.kind, time.Since(start))
			}
			if err != nil {
				if req.Body != nil {
					req.Body.Close()
				}
				return nil, fmt.Errorf("%w for %s: %w", errRateWait, st.kind, err)
			}
		}
		st.attempts++
	}
	if t.timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeoutCause(req.Context(), t.timeout, t.timedOut)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		if cause := context.Cause(ctx); ctx.Err() != nil && req.Context().Err() == nil {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelBody ends an attempt's timeout when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

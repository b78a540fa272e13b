// Package awscreds finds AWS credentials the way the AWS SDKs' default chain
// does (environment, web identity, container, EC2 instance metadata) with
// the standard library only.
//
// The sources, in the SDKs' order; the first one that is configured is the
// one used, and its failure is reported rather than masked by a later one:
//
//  1. Environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with the
//     optional AWS_SESSION_TOKEN; read anew on every call.
//  2. Web identity (EKS IRSA): AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN,
//     optional AWS_ROLE_SESSION_NAME, exchanged at STS
//     (AssumeRoleWithWebIdentity) for temporary credentials. STS is regional
//     when AWS_REGION or AWS_DEFAULT_REGION is set;
//     AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL overrides it.
//  3. Container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (ECS, on
//     169.254.170.2) or else AWS_CONTAINER_CREDENTIALS_FULL_URI (EKS Pod
//     Identity), authorized by AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
//     AWS_CONTAINER_AUTHORIZATION_TOKEN.
//  4. EC2 instance metadata, IMDSv2 only, unless AWS_EC2_METADATA_DISABLED
//     is true; AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the endpoint.
//
// Shared config and credentials files (~/.aws), profiles, SSO and
// credential_process are not read: a relay in a container has none.
//
// Temporary credentials are cached and refreshed RefreshBefore their
// expiry; while a refresh fails, credentials that are still valid are kept
// and the refresh is tried again every half minute.
// Errors name the source and the cause, never a secret, the content of a
// token file or a session token.
package awscreds

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"go.uber.org/zap"
)

// ErrNoCredentials is returned when no source is configured: no variables
// for the first three and instance metadata disabled.
var ErrNoCredentials = errors.New("awscreds: no AWS credentials configured")

// Credentials are what a request is signed with.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // empty for long-term keys
	// Expires is when temporary credentials stop working; zero for
	// credentials that do not expire (the environment's).
	Expires time.Time
	// Source names where they came from, such as "web identity".
	Source string
}

// String shows where the credentials came from and when they expire,
// never a secret.
func (c Credentials) String() string {
	if c.Expires.IsZero() {
		return c.Source
	}
	return fmt.Sprintf("%s (expires %s)", c.Source, c.Expires.UTC().Format(time.RFC3339))
}

// GoString is String, so that %#v, which would otherwise print every
// field, shows no secret either.
func (c Credentials) GoString() string { return c.String() }

// Defaults of the options.
const (
	// DefaultRefreshBefore is how long before their expiry temporary
	// credentials are refreshed: the SDKs' default window, and more than an
	// MSK session lasts after authenticating.
	DefaultRefreshBefore = 5 * time.Minute
	// DefaultTimeout bounds each request to STS or a container endpoint.
	DefaultTimeout = 5 * time.Second
	// DefaultIMDSTimeout bounds each request to instance metadata: the
	// service answers at once on EC2, and elsewhere nothing answers at all.
	DefaultIMDSTimeout = time.Second
)

// retryFailedRefresh is how long after a failed refresh, while the cached
// credentials are still valid, the next is tried: a tenth of the refresh
// window, so a source that recovers is used again well before expiry.
const retryFailedRefresh = DefaultRefreshBefore / 10

// Opt configures a Provider.
type Opt func(*Provider)

// Getenv sets where variables are read; default os.Getenv. An empty
// variable counts as unset.
func Getenv(f func(string) string) Opt { return func(p *Provider) { p.getenv = f } }

// Now sets the clock expiry is judged by; default time.Now.
func Now(f func() time.Time) Opt { return func(p *Provider) { p.now = f } }

// Logger sets where a failed refresh that keeps cached credentials is
// logged; default a no-op logger.
func Logger(l *zap.Logger) Opt { return func(p *Provider) { p.log = l } }

// HTTPClient sets the client of STS, container and instance metadata
// requests; default one that sends link-local and loopback requests
// directly and others through the environment's proxy.
func HTTPClient(c *http.Client) Opt { return func(p *Provider) { p.client = c } }

// RefreshBefore sets how long before expiry credentials are refreshed;
// default DefaultRefreshBefore.
func RefreshBefore(d time.Duration) Opt { return func(p *Provider) { p.refreshBefore = d } }

// Timeouts sets the bound of each request to STS or a container endpoint
// and of each request to instance metadata; defaults DefaultTimeout and
// DefaultIMDSTimeout.
func Timeouts(request, imds time.Duration) Opt {
	return func(p *Provider) { p.timeout, p.imdsTimeout = request, imds }
}

// Provider hands out credentials from the first configured source. It is
// safe for concurrent use; concurrent callers share one refresh.
type Provider struct {
	getenv        func(string) string
	now           func() time.Time
	log           *zap.Logger
	client        *http.Client
	refreshBefore time.Duration
	timeout       time.Duration
	imdsTimeout   time.Duration
	ecsHost       string // the ECS agent's address; tests point it elsewhere

	sem    chan struct{} // held while reading or refreshing cached
	cached Credentials
	// retryAt is when a refresh that failed while cached was still valid
	// is tried again; until then cached is returned at once.
	retryAt time.Time
}

// New returns a Provider; nothing is read until Retrieve.
func New(opts ...Opt) *Provider {
	p := &Provider{
		getenv:        os.Getenv,
		now:           time.Now,
		log:           zap.NewNop(),
		refreshBefore: DefaultRefreshBefore,
		timeout:       DefaultTimeout,
		imdsTimeout:   DefaultIMDSTimeout,
		ecsHost:       ecsAgentHost,
		sem:           make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(p)
	}
	if p.client == nil {
		p.client = defaultClient()
	}
	return p
}

// Retrieve returns credentials valid for at least RefreshBefore where it
// can: cached ones until then, else fresh ones from the first configured
// source. If the refresh fails while the cached ones have not expired, it
// logs the failure and returns them, and tries again only half a minute
// later: meanwhile callers get them at once.
func (p *Provider) Retrieve(ctx context.Context) (Credentials, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return Credentials{}, fmt.Errorf("awscreds: %w", ctx.Err())
	}
	defer func() { <-p.sem }()

	now := p.now()
	if c := p.cached; c.AccessKeyID != "" && (now.Before(c.Expires.Add(-p.refreshBefore)) || now.Before(p.retryAt) && now.Before(c.Expires)) {
		return c, nil
	}
	c, err := p.fetch(ctx)
	if err != nil {
		if old := p.cached; old.AccessKeyID != "" && now.Before(old.Expires) {
			// Not again for every caller: each would wait for the
			// source's timeout in turn while valid credentials are here.
			p.retryAt = p.now().Add(retryFailedRefresh)
			p.log.Warn("refreshing AWS credentials failed; using the cached ones until they expire",
				zap.String("source", old.Source), zap.Time("expires", old.Expires), zap.Duration("retry_in", retryFailedRefresh), zap.Error(err))
			return old, nil
		}
		return Credentials{}, err
	}
	if !c.Expires.IsZero() {
		if p.cached.AccessKeyID == "" {
			p.log.Info("AWS credentials obtained", zap.String("source", c.Source), zap.Time("expires", c.Expires))
		}
		p.cached = c
	}
	return c, nil
}

// fetch asks the first configured source.
func (p *Provider) fetch(ctx context.Context) (Credentials, error) {
	s, err := resolve(p.getenv)
	if err != nil {
		return Credentials{}, err
	}
	c, err := s.retrieve(ctx, p)
	if err != nil {
		return Credentials{}, fmt.Errorf("awscreds: %s: %w", s.name(), err)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return Credentials{}, fmt.Errorf("awscreds: %s: answer without an access key id or secret access key", s.name())
	}
	c.Source = s.name()
	return c, nil
}

// defaultClient sends requests to link-local and loopback addresses (instance
// metadata, container agents) directly, and others (STS) through the
// environment's proxy.
func defaultClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = bypassLocal(http.ProxyFromEnvironment)
	return &http.Client{Transport: t}
}

// bypassLocal returns proxy, except for link-local and loopback addresses
// and the agents' and instance metadata's IPv6 ones: a proxy could not
// reach them, and instance metadata refuses what was forwarded.
func bypassLocal(proxy func(*http.Request) (*url.URL, error)) func(*http.Request) (*url.URL, error) {
	return func(r *http.Request) (*url.URL, error) {
		if ip := net.ParseIP(r.URL.Hostname()); ip != nil && (ip.IsLinkLocalUnicast() || ip.IsLoopback() || agentHosts[ip.String()] || ip.String() == imdsIPv6) {
			return nil, nil
		}
		return proxy(r)
	}
}

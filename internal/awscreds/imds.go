package awscreds

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// imdsIPv6 is instance metadata's IPv6 address, for
// AWS_EC2_METADATA_SERVICE_ENDPOINT=http://[fd00:ec2::254].
const imdsIPv6 = "fd00:ec2::254"

// errNotFound is instance metadata's 404: on the role listing, an instance
// without a role.
var errNotFound = errors.New("HTTP 404")

// imds asks EC2 instance metadata for the instance role's credentials with
// a session token (IMDSv2). There is no IMDSv1 fallback: an instance that
// still allows v1 answers v2 as well.
type imds struct{ endpoint string }

func (imds) name() string { return "instance metadata" }

// check cannot reach the service without the network.
func (imds) check() error { return nil }

const (
	imdsTokenPath = "/latest/api/token"
	imdsCredsPath = "/latest/meta-data/iam/security-credentials/"
	// imdsTokenTTL is the session token's lifetime in seconds; one token
	// serves the two reads of a refresh.
	imdsTokenTTL = "300"
)

func (m imds) retrieve(ctx context.Context, p *Provider) (Credentials, error) {
	token, err := m.do(ctx, p, http.MethodPut, imdsTokenPath, "")
	if err != nil {
		return Credentials{}, fmt.Errorf("session token (IMDSv2): %w", err)
	}
	roles, err := m.do(ctx, p, http.MethodGet, imdsCredsPath, token)
	role, _, _ := strings.Cut(roles, "\n")
	if errors.Is(err, errNotFound) || err == nil && strings.TrimSpace(role) == "" {
		return Credentials{}, errors.New("instance role: the instance has no IAM role (instance profile)")
	}
	if err != nil {
		return Credentials{}, fmt.Errorf("instance role: %w", err)
	}
	role = strings.TrimSpace(role)
	rctx, cancel := context.WithTimeout(ctx, p.imdsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, m.endpoint+imdsCredsPath+role, nil)
	if err != nil {
		return Credentials{}, err
	}
	req.Header.Set("X-aws-ec2-metadata-token", token)
	var a credentialsJSON
	if err := getJSON(p.client, req, &a); err != nil {
		return Credentials{}, fmt.Errorf("role %s: %w", role, err)
	}
	return a.credentials(), nil
}

// do sends one request and returns its text answer: the token when token
// is "" (the PUT), else a read authorized by it.
func (m imds) do(ctx context.Context, p *Provider, method, path, token string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.imdsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, m.endpoint+path, nil)
	if err != nil {
		return "", fmt.Errorf("%s: %w", IMDSEndpointEnv, err)
	}
	if token == "" {
		req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", imdsTokenTTL)
	} else {
		req.Header.Set("X-aws-ec2-metadata-token", token)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return "", fmt.Errorf("%s %s: reading the answer: %w", method, req.URL.Redacted(), err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("%s %s: %w", method, req.URL.Redacted(), errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: HTTP %d", method, req.URL.Redacted(), resp.StatusCode)
	}
	return strings.TrimSpace(string(body)), nil
}

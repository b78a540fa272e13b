package awscreds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ecsAgentHost is the ECS agent's address, which a relative URI is on.
const ecsAgentHost = "169.254.170.2"

// agentHosts are the addresses of the ECS agent and the EKS Pod Identity
// agent: the only plain-HTTP hosts, besides loopback, the authorization
// token is sent to, as in the SDKs.
var agentHosts = map[string]bool{
	ecsAgentHost: true, "169.254.170.23": true, "fd00:ec2::23": true,
}

// container asks the ECS or EKS Pod Identity agent.
type container struct {
	relative, full   string
	tokenFile, token string
}

func (container) name() string { return "container" }

func (c container) check() error {
	if _, err := c.url(ecsAgentHost); err != nil {
		return err
	}
	_, err := c.authorization()
	return err
}

// url is the relative URI on the ECS agent's host, which wins as in the
// SDKs, or else the full URI, which must be HTTPS or go to loopback or an
// agent's address.
func (c container) url(ecsHost string) (string, error) {
	if c.relative != "" {
		return "http://" + ecsHost + c.relative, nil
	}
	u, err := url.Parse(c.full)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ContainerFullURIEnv, err)
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return c.full, nil
	case u.Scheme == "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || ip != nil && (ip.IsLoopback() || agentHosts[ip.String()]) {
			return c.full, nil
		}
	}
	return "", fmt.Errorf("%s: %s is neither https nor on loopback or an ECS or EKS agent's address", ContainerFullURIEnv, c.full)
}

// authorization is the token file's content, read anew (EKS rotates it),
// or else the token variable; none is allowed (ECS needs none).
func (c container) authorization() (string, error) {
	if c.tokenFile != "" {
		t, err := readToken(c.tokenFile)
		if err != nil {
			return "", fmt.Errorf("%s: %w", ContainerAuthTokenFileEnv, err)
		}
		return t, nil
	}
	return c.token, nil
}

// credentialsJSON is the answer of the container agents and of instance
// metadata; Code is instance metadata's.
type credentialsJSON struct {
	Code            string
	Message         string
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      time.Time
}

func (c container) retrieve(ctx context.Context, p *Provider) (Credentials, error) {
	u, err := c.url(p.ecsHost)
	if err != nil {
		return Credentials{}, err
	}
	auth, err := c.authorization()
	if err != nil {
		return Credentials{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Credentials{}, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	var a credentialsJSON
	if err := getJSON(p.client, req, &a); err != nil {
		return Credentials{}, err
	}
	return a.credentials(), nil
}

// credentials are what the answer a grants.
func (a *credentialsJSON) credentials() Credentials {
	return Credentials{AccessKeyID: a.AccessKeyID, SecretAccessKey: a.SecretAccessKey, SessionToken: a.Token, Expires: a.Expiration}
}

// getJSON does req and decodes its JSON answer into v. A refusal is
// reported by its status and the answer's code and message, if it has them:
// never the whole body, which could echo a secret.
func getJSON(client *http.Client, req *http.Request, v *credentialsJSON) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("GET %s: reading the answer: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Code, Message string }
		if json.Unmarshal(body, &e) == nil && (e.Code != "" || e.Message != "") {
			return fmt.Errorf("GET %s: HTTP %d %s: %s", req.URL.Redacted(), resp.StatusCode, e.Code, clip(e.Message))
		}
		return fmt.Errorf("GET %s: HTTP %d", req.URL.Redacted(), resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("GET %s: malformed answer at byte %d", req.URL.Redacted(), se.Offset)
		}
		return fmt.Errorf("GET %s: malformed answer: %w", req.URL.Redacted(), err)
	}
	if v.Code != "" && v.Code != "Success" {
		return fmt.Errorf("GET %s: %s: %s", req.URL.Redacted(), v.Code, clip(v.Message))
	}
	if v.Expiration.IsZero() {
		return fmt.Errorf("GET %s: answer without an expiration", req.URL.Redacted())
	}
	return nil
}

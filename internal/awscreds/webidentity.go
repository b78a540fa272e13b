package awscreds

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxAnswer bounds what is read of any credentials answer; real ones are a
// few KiB.
const maxAnswer = 1 << 20

// webIdentity exchanges a projected service-account token for a role's
// temporary credentials at STS. The request is not signed: the token is the
// proof.
type webIdentity struct {
	tokenFile, roleARN, sessionName string
	endpoint                        string
}

func (webIdentity) name() string { return "web identity" }

func (w webIdentity) check() error {
	if _, err := readToken(w.tokenFile); err != nil {
		return fmt.Errorf("%s: %w", WebIdentityTokenFileEnv, err)
	}
	if _, err := url.Parse(w.endpoint); err != nil {
		return fmt.Errorf("STS endpoint: %w", err)
	}
	return nil
}

// stsEndpoint is AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the
// region's STS, else the global one.
func stsEndpoint(env func(string) string) string {
	for _, k := range []string{EndpointURLSTSEnv, EndpointURLEnv} {
		if v := env(k); v != "" {
			return v
		}
	}
	region := env(RegionEnv)
	if region == "" {
		region = env(DefaultRegionEnv)
	}
	switch {
	case region == "":
		return "https://sts.amazonaws.com"
	case strings.HasPrefix(region, "cn-"):
		return "https://sts." + region + ".amazonaws.com.cn"
	default:
		return "https://sts." + region + ".amazonaws.com"
	}
}

// stsCredentials is the part of an AssumeRoleWithWebIdentityResponse used.
type stsCredentials struct {
	Result struct {
		Credentials struct {
			AccessKeyID     string    `xml:"AccessKeyId"`
			SecretAccessKey string    `xml:"SecretAccessKey"`
			SessionToken    string    `xml:"SessionToken"`
			Expiration      time.Time `xml:"Expiration"`
		} `xml:"Credentials"`
	} `xml:"AssumeRoleWithWebIdentityResult"`
}

// stsError is an STS ErrorResponse.
type stsError struct {
	Error struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

func (w webIdentity) retrieve(ctx context.Context, p *Provider) (Credentials, error) {
	token, err := readToken(w.tokenFile)
	if err != nil {
		return Credentials{}, fmt.Errorf("%s: %w", WebIdentityTokenFileEnv, err)
	}
	session := w.sessionName
	if session == "" {
		session = "optikpi-relay-" + strconv.FormatInt(p.now().UnixNano(), 10)
	}
	// POST keeps the token out of URLs, and so out of any access log.
	form := url.Values{
		"Action":           {"AssumeRoleWithWebIdentity"},
		"Version":          {"2011-06-15"},
		"RoleArn":          {w.roleARN},
		"RoleSessionName":  {session},
		"WebIdentityToken": {token},
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Credentials{}, fmt.Errorf("STS endpoint %s: %w", w.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	resp, err := p.client.Do(req)
	if err != nil {
		return Credentials{}, fmt.Errorf("STS AssumeRoleWithWebIdentity for %s: %w", w.roleARN, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Credentials{}, fmt.Errorf("STS AssumeRoleWithWebIdentity for %s: reading the answer: %w", w.roleARN, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e stsError
		if xml.Unmarshal(body, &e) != nil || e.Error.Code == "" {
			return Credentials{}, fmt.Errorf("STS AssumeRoleWithWebIdentity for %s: HTTP %d", w.roleARN, resp.StatusCode)
		}
		return Credentials{}, fmt.Errorf("STS AssumeRoleWithWebIdentity for %s: HTTP %d %s: %s (request id %s)",
			w.roleARN, resp.StatusCode, e.Error.Code, clip(e.Error.Message), e.RequestID)
	}
	var a stsCredentials
	if err := xml.Unmarshal(body, &a); err != nil {
		return Credentials{}, fmt.Errorf("STS AssumeRoleWithWebIdentity for %s: malformed answer: %w", w.roleARN, err)
	}
	c := a.Result.Credentials
	if c.Expiration.IsZero() {
		return Credentials{}, fmt.Errorf("STS AssumeRoleWithWebIdentity for %s: answer without an expiration", w.roleARN)
	}
	return Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expires: c.Expiration}, nil
}

// clip keeps an error message from a server short enough for a log line.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

package awscreds

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// The variables the sources read, as the AWS SDKs name them.
const (
	AccessKeyIDEnv     = "AWS_ACCESS_KEY_ID"
	SecretAccessKeyEnv = "AWS_SECRET_ACCESS_KEY"
	SessionTokenEnv    = "AWS_SESSION_TOKEN"

	WebIdentityTokenFileEnv = "AWS_WEB_IDENTITY_TOKEN_FILE"
	RoleARNEnv              = "AWS_ROLE_ARN"
	RoleSessionNameEnv      = "AWS_ROLE_SESSION_NAME"
	RegionEnv               = "AWS_REGION"
	DefaultRegionEnv        = "AWS_DEFAULT_REGION"
	EndpointURLSTSEnv       = "AWS_ENDPOINT_URL_STS"
	EndpointURLEnv          = "AWS_ENDPOINT_URL"

	ContainerRelativeURIEnv   = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	ContainerFullURIEnv       = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	ContainerAuthTokenFileEnv = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
	ContainerAuthTokenEnv     = "AWS_CONTAINER_AUTHORIZATION_TOKEN"

	IMDSDisabledEnv = "AWS_EC2_METADATA_DISABLED"
	IMDSEndpointEnv = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
)

// source is one link of the chain.
type source interface {
	name() string
	retrieve(ctx context.Context, p *Provider) (Credentials, error)
	// check is what can be verified without the network: files readable,
	// URLs well formed.
	check() error
}

// resolve returns the first configured source. A source set up by halves
// (a key id without its secret, a token file without a role) is an error
// naming the missing variable, not a reason to fall through to the next.
func resolve(getenv func(string) string) (source, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	if id, secret := env(AccessKeyIDEnv), env(SecretAccessKeyEnv); id != "" || secret != "" {
		if id == "" || secret == "" {
			return nil, fmt.Errorf("awscreds: environment: %s and %s must be set together", AccessKeyIDEnv, SecretAccessKeyEnv)
		}
		return envSource{id: id, secret: secret, token: env(SessionTokenEnv)}, nil
	}
	if file, role := env(WebIdentityTokenFileEnv), env(RoleARNEnv); file != "" || role != "" {
		if file == "" || role == "" {
			return nil, fmt.Errorf("awscreds: web identity: %s and %s must be set together", WebIdentityTokenFileEnv, RoleARNEnv)
		}
		return webIdentity{
			tokenFile: file, roleARN: role, sessionName: env(RoleSessionNameEnv),
			endpoint: stsEndpoint(env),
		}, nil
	}
	if rel, full := env(ContainerRelativeURIEnv), env(ContainerFullURIEnv); rel != "" || full != "" {
		return container{
			relative: rel, full: full,
			tokenFile: env(ContainerAuthTokenFileEnv), token: env(ContainerAuthTokenEnv),
		}, nil
	}
	if strings.EqualFold(env(IMDSDisabledEnv), "true") {
		return nil, fmt.Errorf("%w: set %s and %s, or %s and %s (EKS IRSA), or %s (EKS Pod Identity); instance metadata is off (%s=true)",
			ErrNoCredentials, AccessKeyIDEnv, SecretAccessKeyEnv, WebIdentityTokenFileEnv, RoleARNEnv, ContainerFullURIEnv, IMDSDisabledEnv)
	}
	endpoint := env(IMDSEndpointEnv)
	if endpoint == "" {
		endpoint = "http://169.254.169.254"
	}
	return imds{endpoint: strings.TrimSuffix(endpoint, "/")}, nil
}

// Check names the source Retrieve would use and verifies what it can
// without the network: the variables are complete, the token files
// readable and not empty, the URLs valid. Instance metadata, the last
// resort, cannot be verified this way; it is named "instance metadata".
// getenv is nil for os.Getenv.
func Check(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	s, err := resolve(getenv)
	if err != nil {
		return "", err
	}
	if err := s.check(); err != nil {
		return s.name(), fmt.Errorf("awscreds: %s: %w", s.name(), err)
	}
	return s.name(), nil
}

// envSource is the environment's long-term or session credentials.
type envSource struct{ id, secret, token string }

func (envSource) name() string { return "environment" }
func (envSource) check() error { return nil }

func (e envSource) retrieve(context.Context, *Provider) (Credentials, error) {
	return Credentials{AccessKeyID: e.id, SecretAccessKey: e.secret, SessionToken: e.token}, nil
}

// readToken reads a token file anew (Kubernetes rotates projected tokens),
// naming the file but never its content.
func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("token file %s is empty", file)
	}
	return v, nil
}

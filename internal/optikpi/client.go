package optikpi

import (
	"context"
	"errors"
	"fmt"
	"time"
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
	// Rejected: 400, 413 or 422; permanent for these records.
	Rejected
	// Misconfigured: 401, 403 (credentials) or 404 (base URL or path);
	// never a per-record problem.
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

func (e *Error) Error() string { panic("TODO") }

// Is matches the sentinel of e's class.
func (e *Error) Is(target error) bool { panic("TODO") }

// Unwrap returns the transport error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Classify is the one place that decides what a response status or a
// transport error means. status is 0 when err is the transport's error.
func Classify(status int, err error) Class { panic("TODO") }

// Client sends signed batches to one destination (base URL, account,
// workspace). It is safe for concurrent use.
type Client struct{}

// NewClient validates its arguments and returns a client for the API at
// baseURL (such as "https://gw.example.com/apigw/ingest").
func NewClient(baseURL, accountID, workspaceID string, token TokenSource, opts ...ClientOption) (*Client, error) {
	panic("TODO")
}

// Send posts body, a JSON array of up to 500 records of kind, to kind's
// endpoint, signed over exactly these bytes. It retries throttled and
// transient failures as the client's retry policy says, waiting on the
// endpoint's rate limiter before every attempt, and returns the API's
// response, or an *Error once the outcome is final.
func (c *Client) Send(ctx context.Context, kind Kind, body []byte) (*Response, error) {
	panic("TODO")
}

// Health is the answer of the health check.
type Health uint8

const (
	HealthUnknown Health = iota // the API has no health endpoint (404)
	HealthOK
	HealthDown
)

// Health calls GET /datapipeline/health. A 404 means the API has no health
// endpoint: HealthUnknown, not down.
func (c *Client) Health(ctx context.Context) (Health, error) { panic("TODO") }

// ClientOption configures a Client.
type ClientOption func(*clientConfig)

type clientConfig struct{}

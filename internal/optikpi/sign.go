package optikpi

// Credentials identify a workspace to the API. The token is a secret: it is
// never formatted into an error or a log line.
type Credentials struct {
	Token       string
	AccountID   string
	WorkspaceID string
}

// DeriveKey returns the 32-byte HMAC key for c, as the API server and every
// official SDK compute it (sdk-notes.md): HKDF-SHA256 with IKM = account id +
// workspace id, salt = token, info = "hmac-signing".
func DeriveKey(c Credentials) []byte { panic("TODO") }

// Signer signs request bodies for one set of credentials. It is safe for
// concurrent use.
type Signer struct{ key []byte }

// NewSigner derives the key once.
func NewSigner(c Credentials) *Signer { return &Signer{key: DeriveKey(c)} }

// Sign returns the lowercase hex HMAC-SHA256 of body, the value of the
// x-hmac-signature header.
func (s *Signer) Sign(body []byte) string { panic("TODO") }

package optikpi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"

	"golang.org/x/crypto/hkdf"
)

// Credentials identify a workspace to the API. The token is a secret: it is
// never formatted into an error or a log line.
type Credentials struct {
	Token       string
	AccountID   string
	WorkspaceID string
}

// hkdfInfo is the HKDF context string of every official SDK.
const hkdfInfo = "hmac-signing"

// DeriveKey returns the 32-byte HMAC key for c, as the API server and every
// official SDK compute it (sdk-notes.md): HKDF-SHA256 with IKM = account id +
// workspace id, salt = token, info = "hmac-signing".
//
// The integration guides say the opposite (IKM = token, salt = account id +
// workspace id); that reading matches none of the SDKs' signatures.
func DeriveKey(c Credentials) []byte {
	ikm := []byte(c.AccountID + c.WorkspaceID)
	r := hkdf.New(sha256.New, ikm, []byte(c.Token), []byte(hkdfInfo))
	key := make([]byte, sha256.Size)
	if _, err := io.ReadFull(r, key); err != nil {
		// HKDF-SHA256 yields up to 255*32 bytes; 32 cannot fail.
		panic("optikpi: hkdf: " + err.Error())
	}
	return key
}

// Signer signs request bodies for one set of credentials. It is safe for
// concurrent use.
type Signer struct {
	key []byte
	// macs holds keyed HMAC states: hmac.New costs two SHA-256 blocks and a
	// few allocations that a pooled state reset to its keyed start avoids.
	macs sync.Pool
}

// macState is a keyed HMAC with room for its sum and the sum's hex: a sum
// written to the stack through the hash.Hash interface would escape.
type macState struct {
	mac hash.Hash
	sum [sha256.Size]byte
	hex [2 * sha256.Size]byte
}

// NewSigner derives the key once.
func NewSigner(c Credentials) *Signer { return newSignerKey(DeriveKey(c)) }

func newSignerKey(key []byte) *Signer {
	s := &Signer{key: key}
	s.macs.New = func() any { return &macState{mac: hmac.New(sha256.New, s.key)} }
	return s
}

// Sign returns the lowercase hex HMAC-SHA256 of body, the value of the
// x-hmac-signature header. Its one allocation is the string.
func (s *Signer) Sign(body []byte) string {
	m := s.sum(body)
	hex.Encode(m.hex[:], m.sum[:])
	sig := string(m.hex[:])
	s.macs.Put(m)
	return sig
}

// Verify reports, in constant time, whether sig is body's signature (hex,
// either case).
func (s *Signer) Verify(body []byte, sig string) bool {
	// Computed before any check on sig, so that the time taken does not
	// depend on what the caller sent.
	m := s.sum(body)
	defer s.macs.Put(m)
	if len(sig) != len(m.hex) {
		return false
	}
	if _, err := hex.Decode(m.hex[:sha256.Size], []byte(sig)); err != nil {
		return false
	}
	return hmac.Equal(m.sum[:], m.hex[:sha256.Size])
}

// sum returns a pooled state holding body's HMAC in sum; the caller puts it
// back.
func (s *Signer) sum(body []byte) *macState {
	m := s.macs.Get().(*macState)
	m.mac.Reset()
	m.mac.Write(body)
	m.mac.Sum(m.sum[:0])
	return m
}

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

// NewSigner derives the key once.
func NewSigner(c Credentials) *Signer { return newSignerKey(DeriveKey(c)) }

func newSignerKey(key []byte) *Signer {
	s := &Signer{key: key}
	s.macs.New = func() any { return hmac.New(sha256.New, s.key) }
	return s
}

// Sign returns the lowercase hex HMAC-SHA256 of body, the value of the
// x-hmac-signature header.
func (s *Signer) Sign(body []byte) string {
	var sum [sha256.Size]byte
	s.sum(sum[:0], body)
	return hex.EncodeToString(sum[:])
}

// Verify reports, in constant time, whether sig is body's signature (hex,
// either case).
func (s *Signer) Verify(body []byte, sig string) bool {
	var want, got [sha256.Size]byte
	// Computed before any check on sig, so that the time taken does not
	// depend on what the caller sent.
	s.sum(want[:0], body)
	if len(sig) != hex.EncodedLen(sha256.Size) {
		return false
	}
	if _, err := hex.Decode(got[:], []byte(sig)); err != nil {
		return false
	}
	return hmac.Equal(want[:], got[:])
}

func (s *Signer) sum(dst, body []byte) []byte {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	dst = m.Sum(dst)
	s.macs.Put(m)
	return dst
}

package optikpi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/hkdf"
)

// signVector is a case of the shared vectors with the derived key as well.
type signVector struct {
	vector
	DerivedKey string `json:"derived_key_hex"`
}

func (v signVector) credentials() Credentials {
	return Credentials{Token: v.AuthToken, AccountID: v.AccountID, WorkspaceID: v.WorkspaceID}
}

// mustSignVectors loads every SDK-computed case; unlike signatureVectors, a
// missing file fails the test, since signing is untested without it.
func mustSignVectors(t *testing.T) []signVector {
	t.Helper()
	b, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("the signature vectors are required: %v", err)
	}
	var vs []signVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatalf("%s: %v", vectorsPath, err)
	}
	if len(vs) == 0 {
		t.Fatalf("%s holds no vectors", vectorsPath)
	}
	for i, v := range vs {
		if v.Name == "" || v.DerivedKey == "" || v.Signature == "" {
			t.Fatalf("%s: vector %d lacks a name, derived_key_hex or signature_hex", vectorsPath, i)
		}
	}
	return vs
}

func TestSignVectors(t *testing.T) {
	for _, v := range mustSignVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			if got := hex.EncodeToString(DeriveKey(v.credentials())); got != v.DerivedKey {
				t.Errorf("DeriveKey = %s; want %s", got, v.DerivedKey)
			}
			s := NewSigner(v.credentials())
			// Twice: the second signature comes from a pooled, reset state.
			for i := range 2 {
				if got := s.Sign([]byte(v.Body)); got != v.Signature {
					t.Errorf("Sign #%d = %s; want %s", i+1, got, v.Signature)
				}
			}
			if !s.Verify([]byte(v.Body), v.Signature) || !s.Verify([]byte(v.Body), strings.ToUpper(v.Signature)) {
				t.Errorf("Verify rejects the SDK's signature %s", v.Signature)
			}
		})
	}
}

// TestGuideReadingIsWrong pins the trap: the guides' IKM = token, salt =
// account id + workspace id reproduces none of the SDKs' keys.
func TestGuideReadingIsWrong(t *testing.T) {
	for _, v := range mustSignVectors(t) {
		r := hkdf.New(sha256.New, []byte(v.AuthToken), []byte(v.AccountID+v.WorkspaceID), []byte("hmac-signing"))
		key := make([]byte, 32)
		if _, err := io.ReadFull(r, key); err != nil {
			t.Fatal(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(v.Body))
		sig := hex.EncodeToString(m.Sum(nil))
		if got := hex.EncodeToString(key); got == v.DerivedKey || sig == v.Signature {
			t.Errorf("%s: the guide's literal HKDF reading gives key %s, signature %s; it must not match the SDKs' %s, %s",
				v.Name, got, sig, v.DerivedKey, v.Signature)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	s := NewSigner(Credentials{Token: "t", AccountID: "a", WorkspaceID: "w"})
	body := []byte(`[{"user_id":"u1"}]`)
	good := s.Sign(body)
	other := NewSigner(Credentials{Token: "t2", AccountID: "a", WorkspaceID: "w"})
	cases := []struct {
		name string
		body []byte
		sig  string
	}{
		{"tampered body", []byte(`[{"user_id":"u2"}]`), good},
		{"trailing space", append(append([]byte{}, body...), ' '), good},
		{"other token", body, other.Sign(body)},
		{"truncated", body, good[:63]},
		{"not hex", body, "zz" + good[2:]},
		{"empty", body, ""},
	}
	for _, c := range cases {
		if s.Verify(c.body, c.sig) {
			t.Errorf("%s: Verify(%q, %q) = true; want false", c.name, c.body, c.sig)
		}
	}
	if !s.Verify(body, good) {
		t.Errorf("Verify(%q, %q) = false; want true", body, good)
	}
}

// TestSignConcurrent checks the pooled states under -race.
func TestSignConcurrent(t *testing.T) {
	s := NewSigner(Credentials{Token: "t", AccountID: "a", WorkspaceID: "w"})
	bodies := [][]byte{[]byte(`{}`), []byte(`[1,2,3]`), []byte(strings.Repeat("x", 1000))}
	want := make([]string, len(bodies))
	for i, b := range bodies {
		m := hmac.New(sha256.New, DeriveKey(Credentials{Token: "t", AccountID: "a", WorkspaceID: "w"}))
		m.Write(b)
		want[i] = hex.EncodeToString(m.Sum(nil))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				j := (g + i) % len(bodies)
				if got := s.Sign(bodies[j]); got != want[j] {
					t.Errorf("Sign(%q) = %s; want %s", bodies[j], got, want[j])
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSign(b *testing.B) {
	body := []byte(strings.Repeat(`{"user_id":"user123456","amount":500},`, 14)) // ~500 B
	for _, size := range []struct {
		name string
		body []byte
	}{{"500B", body}, {"200KiB", []byte(strings.Repeat(string(body), 400))}} {
		b.Run("pooled/"+size.name, func(b *testing.B) {
			s := NewSigner(Credentials{Token: "t", AccountID: "a", WorkspaceID: "w"})
			b.ReportAllocs()
			b.SetBytes(int64(len(size.body)))
			for b.Loop() {
				s.Sign(size.body)
			}
		})
		b.Run("hmac.New/"+size.name, func(b *testing.B) {
			key := DeriveKey(Credentials{Token: "t", AccountID: "a", WorkspaceID: "w"})
			b.ReportAllocs()
			b.SetBytes(int64(len(size.body)))
			for b.Loop() {
				m := hmac.New(sha256.New, key)
				m.Write(size.body)
				_ = hex.EncodeToString(m.Sum(nil))
			}
		})
	}
}

package emulator

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, cheaper than httptest.ResponseRecorder under a benchmark.
type discardWriter struct {
	header http.Header
	status int
}

func newDiscardWriter() *discardWriter { return &discardWriter{header: make(http.Header)} }

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *discardWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.status = 0
}

// signedRequest returns a POST of body to url, signed with the test
// credentials.
func signedRequest(t testing.TB, url string, body []byte) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	s := optikpi.NewSigner(optikpi.Credentials{Token: testToken, AccountID: testAccount, WorkspaceID: testWorkspace})
	r.Header.Set("X-Optikpi-Token", testToken)
	r.Header.Set("X-Optikpi-Account-Id", testAccount)
	r.Header.Set("X-Optikpi-Workspace-Id", testWorkspace)
	r.Header.Set("X-Hmac-Signature", s.Sign(body))
	r.Header.Set("X-Hmac-Algorithm", "sha256")
	r.Header.Set("Content-Type", "application/json")
	return r
}

// BenchmarkIngest500 is the emulator's cost for one 500-deposit batch through
// ServeHTTP, without the network: authentication, the signature over the
// whole body, and the records delimited (validate=off, as under a
// throughput benchmark; "relay-bench" adds the produce-to-acknowledgement
// sampling that relay bench turns on) or decoded and validated
// (validate=on). Records are not kept.
func BenchmarkIngest500(b *testing.B) {
	const n = 500
	body := batch(b, 0, n)
	for _, c := range []struct {
		name                 string
		validate, trackDelay bool
	}{
		{"validate=off", false, false},
		{"relay-bench", false, true},
		{"validate=on", true, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			cfg := testConfig()
			cfg.Validate, cfg.TrackDelay, cfg.KeepRecords = c.validate, c.trackDelay, false
			em, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			req := signedRequest(b, "http://emulator"+ingestRoot+"/events/deposit", body)
			rd := bytes.NewReader(body)
			w := newDiscardWriter()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				req.Body = io.NopCloser(rd)
				w.reset()
				em.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("status %d", w.status)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
			if d := em.Stats().Delay; c.trackDelay && d.Count != int64(b.N*n/delaySample) {
				b.Fatalf("%d delays measured; want %d", d.Count, b.N*n/delaySample)
			}
		})
	}
}

// BenchmarkSplitRecords is the one pass over a 500-deposit body that
// delimits its records and notes their event_id and event_time.
func BenchmarkSplitRecords(b *testing.B) {
	const n = 500
	body := batch(b, 0, n)
	var recs []record
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if recs, _, err = splitRecords(body, n, recs); err != nil || len(recs) != n {
			b.Fatalf("splitRecords = %d records, %v", len(recs), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

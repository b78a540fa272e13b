package sink

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestNonAPIRefusalIsNotTheRecords: a 4xx from something in front of the
// API (a proxy's HTML, a gateway's own JSON) blames the destination, not
// the records: no batch is split, nothing is dead-lettered, the sink reports
// not ready, and everything is delivered once the proxy lets requests
// through.
func TestNonAPIRefusalIsNotTheRecords(t *testing.T) {
	tests := []struct {
		status      int
		contentType string
		body        string
	}{
		{http.StatusBadRequest, "text/html", "<html><head><title>400 Bad Request</title></head><body><center><h1>400 Bad Request</h1></center><hr><center>nginx</center></body></html>"},
		{http.StatusBadRequest, "application/json", `{"message":"Invalid request body"}`},
		{http.StatusMethodNotAllowed, "text/html", "<html><body>405 Method Not Allowed</body></html>"},
		{http.StatusUnsupportedMediaType, "application/json", `{"message":"Unsupported Media Type"}`},
		{http.StatusUnprocessableEntity, "text/plain", "request refused by WAF rule 942100"},
		{http.StatusTeapot, "text/plain", "I'm a teapot"},
	}
	const records = 40
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.contentType), func(t *testing.T) {
			var open atomic.Bool
			rec := newRecorder(t, func(_ int, _ []byte, w http.ResponseWriter) {
				if open.Load() {
					w.Write([]byte(`{"message":"ok","recordIds":[],"count":0}`))
					return
				}
				w.Header().Set("Content-Type", tt.contentType)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			opts := testOptions()
			opts.Linger = 50 * time.Millisecond
			s := newSink(t, rec.URL+"/apigw/ingest", nil, opts)
			res := newResults()
			send(t, s, res, deposits(t, records), eventKey)

			for deadline := time.Now().Add(waitLimit); rec.requests.Load() < 5; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("after %s: %d requests; want 5", waitLimit, rec.requests.Load())
				}
				if res.calls.Load() > 0 {
					break
				}
			}
			sizes := rec.sizes(t)
			t.Logf("while refused: %d requests of %v records, %d records final", len(sizes), sizes, res.calls.Load())
			if n := res.calls.Load(); n != 0 {
				res.mu.Lock()
				var f *Failure
				for _, f = range res.failures {
					break
				}
				res.mu.Unlock()
				t.Errorf("%d of %d records final while a proxy refuses them; want 0 (first failure: %+v)", n, records, f)
			}
			for i, n := range sizes {
				if n != records {
					t.Errorf("request %d carried %d records; want %d: a batch must not be split", i+1, n, records)
					break
				}
			}
			if err := s.Ready(); err == nil || !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("Ready while refused = %v; want an error naming %d", err, tt.status)
			}

			open.Store(true)
			res.wait(t, records)
			if d, f := res.counts(); d != records || f != 0 {
				t.Errorf("after the proxy opens: %d delivered, %d failed; want %d, 0", d, f, records)
			}
		})
	}
}

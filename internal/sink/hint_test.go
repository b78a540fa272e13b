package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// hintForms are the ways an API may name the bad record i of a batch; each
// returns the error body.
var hintForms = []struct {
	name string
	body func(i int) string
}{
	{"details.field [i].amount", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","details":{"field":"[%d].amount","issue":"must be positive"}}`, i)
	}},
	{"details.index number", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","details":{"index":%d,"field":"amount","issue":"must be positive"}}`, i)
	}},
	{"details.index string", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","details":{"index":"%d","field":"amount"}}`, i)
	}},
	{"details.record_index", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","details":{"record_index":%d,"field":"amount"}}`, i)
	}},
	{"top-level index", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","index":%d}`, i)
	}},
	{"top-level record_index", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","record_index":%d}`, i)
	}},
	{"message records[i]", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed: records[%d].amount must be positive"}`, i)
	}},
	{"message record i", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed for record %d: amount must be positive"}`, i)
	}},
	{"message [i]", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed: [%d].amount must be positive"}`, i)
	}},
	{"field records[i]", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","details":{"field":"records[%d].amount","issue":"must be positive"}}`, i)
	}},
	{"issue record #i", func(i int) string {
		return fmt.Sprintf(`{"error":"Bad Request","message":"Validation failed","details":{"field":"amount","issue":"record #%d must be positive"}}`, i)
	}},
}

// TestBadIndexForms: however the API names the one bad record of a full
// batch, it is isolated in a few requests rather than by bisection (19).
func TestBadIndexForms(t *testing.T) {
	const n, poison = 500, 137
	for _, form := range hintForms {
		t.Run(form.name, func(t *testing.T) {
			recs := deposits(t, n)
			bad := []byte(`"` + recs[poison].EventID + `"`)
			var rejected atomic.Int64
			srv := newRecorder(t, func(_ int, body []byte, w http.ResponseWriter) {
				var arr []json.RawMessage
				if err := json.Unmarshal(body, &arr); err != nil {
					t.Errorf("body: %v", err)
				}
				for i, r := range arr {
					if bytes.Contains(r, bad) {
						rejected.Add(1)
						w.WriteHeader(http.StatusBadRequest)
						w.Write([]byte(form.body(i)))
						return
					}
				}
				w.Write([]byte(`{}`))
			})
			opts := testOptions()
			opts.Linger = time.Hour // one batch of n
			opts.BatchSize = n
			s := newSink(t, srv.URL, nil, opts)
			res := newResults()
			send(t, s, res, recs, eventKey)
			res.wait(t, n)

			t.Logf("%d requests, %d rejected", srv.requests.Load(), rejected.Load())
			if d, f := res.counts(); d != n-1 || f != 1 || res.failures[recs[poison].EventID] == nil || res.failures[recs[poison].EventID].Reason != failure.Rejected {
				t.Errorf("got %d delivered, %d failed; want %d, 1: the poison record rejected", d, f, n-1)
			}
			if got := rejected.Load(); got > 4 {
				t.Errorf("rejected requests: got %d, want at most 4 (the batch, then the record alone)", got)
			}
			if got := srv.requests.Load(); got > 6 {
				t.Errorf("requests: got %d, want at most 6", got)
			}
		})
	}
}

// TestBadIndexParse: what badIndex reads, and what it must not take for a
// record's index.
func TestBadIndexParse(t *testing.T) {
	api := func(body string) *optikpi.Error {
		return &optikpi.Error{Class: optikpi.Rejected, Status: 400, Body: []byte(body), API: optikpi.ParseAPIError([]byte(body))}
	}
	tests := []struct {
		name  string
		oe    *optikpi.Error
		n     int
		want  int
		found bool
	}{
		{"out of range", api(`{"error":"x","details":{"index":10}}`), 10, 0, false},
		{"negative", api(`{"error":"x","details":{"index":-1}}`), 10, 0, false},
		{"fraction", api(`{"error":"x","details":{"index":1.5},"message":"record 2"}`), 10, 2, true},
		{"a field's own array", api(`{"error":"x","message":"tags[0] is too long"}`), 10, 0, false},
		{"a range", api(`{"error":"x","message":"amount must be in [0, 100]"}`), 10, 0, false},
		{"no index", api(`{"error":"Bad Request","message":"Validation failed: amount must be positive"}`), 10, 0, false},
		{"not the API's answer", &optikpi.Error{Class: optikpi.Rejected, Status: 400, Body: []byte(`{"index":3}`)}, 10, 0, false},
		{"index word", api(`{"error":"x","message":"bad record at index 7"}`), 10, 7, true},
		{"field before message", api(`{"error":"x","message":"record 5","details":{"field":"[4].amount"}}`), 10, 4, true},
		{"huge", api(`{"error":"x","message":"record 99999999999999999999999"}`), 10, 0, false},
	}
	for _, tt := range tests {
		got, found := badIndex(tt.oe, tt.n)
		if got != tt.want || found != tt.found {
			t.Errorf("%s: badIndex = %d, %v; want %d, %v", tt.name, got, found, tt.want, tt.found)
		}
	}
}

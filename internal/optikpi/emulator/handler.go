package emulator

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// Paths the emulator serves. Ingest paths may sit under any prefix, as
// behind a gateway: {prefix}/apigw/ingest/events/deposit.
const (
	ingestRoot   = "/apigw/ingest"
	statsPath    = "/_emulator/stats"
	recordsPath  = "/_emulator/records"
	resetPath    = "/_emulator/reset"
	algorithmHdr = "X-Hmac-Algorithm"
)

// ServeHTTP answers:
//
//   - POST {prefix}/apigw/ingest/<endpoint> for the nine endpoints;
//   - GET {prefix}/apigw/ingest/datapipeline/health: 200;
//   - GET /_emulator/stats: Stats as JSON;
//   - GET /_emulator/records?endpoint=/events/deposit: the endpoint's
//     accepted records as a JSON array;
//   - POST /_emulator/reset: Reset.
//
// An ingest request is checked in this order: known endpoint (404), token,
// account and workspace (401), body size (413), HMAC signature over the raw
// body (401), rate limit (429, with Retry-After unless turned off),
// injected faults (500/503 or a dropped connection), then its records (400
// naming the first bad one; a refused request keeps none of its records). Errors have the guide's body,
// {"error", "message", "details": {"field", "issue"}}.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if i := strings.Index(path, ingestRoot+"/"); i >= 0 {
		e.serveIngest(w, r, path[i+len(ingestRoot):])
		return
	}
	switch path {
	case statsPath:
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		writeJSON(w, http.StatusOK, e.Stats())
	case recordsPath:
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		ep := r.URL.Query().Get("endpoint")
		kind, ok := optikpi.KindForEndpoint(ep)
		if !ok {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown endpoint %q", ep), "endpoint", "must be an ingest endpoint such as /events/deposit")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(optikpi.AppendBatch(nil, e.Records(kind)))
	case resetPath:
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		e.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusNotFound, "no such path: "+path, "", "")
	}
}

func (e *Emulator) serveIngest(w http.ResponseWriter, r *http.Request, endpoint string) {
	if endpoint == optikpi.HealthPath {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	kind, ok := optikpi.KindForEndpoint(endpoint)
	if !ok {
		writeError(w, http.StatusNotFound, "no such endpoint: "+endpoint, "", "")
		return
	}
	c := &e.counters[kind]
	c.requests.Add(1)
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	if d := time.Duration(e.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}

	h := r.Header
	if subtle.ConstantTimeCompare([]byte(h.Get("X-Optikpi-Token")), e.token) != 1 ||
		h.Get("X-Optikpi-Account-Id") != e.cfg.AccountID || h.Get("X-Optikpi-Workspace-Id") != e.cfg.WorkspaceID {
		c.unauthorized.Add(1)
		writeError(w, http.StatusUnauthorized, "Invalid authentication token or account/workspace", "x-optikpi-token", "not valid for this account and workspace")
		return
	}
	if alg := h.Get(algorithmHdr); alg != "" && !strings.EqualFold(alg, "sha256") {
		c.unauthorized.Add(1)
		writeError(w, http.StatusUnauthorized, "Unsupported HMAC algorithm", "x-hmac-algorithm", "must be sha256")
		return
	}

	sc := e.getScratch()
	defer e.putScratch(sc)
	body, tooLarge, err := readBody(r, e.cfg.MaxBodyBytes, sc.body[:0])
	if tooLarge {
		c.rejected.Add(1)
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body exceeds %d bytes", e.cfg.MaxBodyBytes), "body", "too large")
		return
	}
	if err != nil {
		return // the client went away
	}
	sc.body = body
	if !e.signer.Verify(body, h.Get("X-Hmac-Signature")) {
		c.unauthorized.Add(1)
		writeError(w, http.StatusUnauthorized, "Invalid HMAC signature", "x-hmac-signature", "does not match the body")
		return
	}

	if e.rateLimit.Load() {
		res := e.limiters[kind].Reserve()
		if d := res.Delay(); d > 0 {
			res.Cancel()
			c.throttled.Add(1)
			if !e.noRetryAfter.Load() {
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(d.Seconds())))))
			}
			writeError(w, http.StatusTooManyRequests, "Rate limit exceeded", "", "")
			return
		}
	}

	// One draw decides: [0, drop) drops, [drop, drop+fail) fails, half
	// of those with 500 and half with 503, so a seeded run repeats.
	if drop, fail := math.Float64frombits(e.dropRate.Load()), math.Float64frombits(e.failRate.Load()); drop > 0 || fail > 0 {
		switch u := e.draw(); {
		case u < drop:
			c.dropped.Add(1)
			dropConnection(w)
			return
		case u < drop+fail:
			c.failed.Add(1)
			status := http.StatusServiceUnavailable
			if u < drop+fail/2 {
				status = http.StatusInternalServerError
			}
			writeError(w, status, "Injected failure", "", "")
			return
		}
	}

	recs, single, err := splitRecords(body, e.cfg.MaxRecords, sc.recs)
	sc.recs = recs
	switch {
	case errors.Is(err, errTooMany):
		c.rejected.Add(1)
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Batch size exceeds the limit of %d records", e.cfg.MaxRecords),
			"body", fmt.Sprintf("at most %d records per request", e.cfg.MaxRecords))
		return
	case err != nil:
		c.rejected.Add(1)
		writeError(w, http.StatusBadRequest, "Invalid JSON: "+err.Error(), "body", "must be a JSON object or an array of objects")
		return
	case len(recs) == 0:
		c.rejected.Add(1)
		writeError(w, http.StatusBadRequest, "No records in the request", "body", "must hold at least one record")
		return
	}

	var ids []string
	resp := append(sc.resp[:0], `{"message":"`...)
	resp = strconv.AppendInt(resp, int64(len(recs)), 10)
	resp = append(resp, ` record(s) processed successfully","recordIds":[`...)
	if e.cfg.KeepRecords {
		ids = make([]string, len(recs))
	}
	for i := range recs {
		if i > 0 {
			resp = append(resp, ',')
		}
		var id string
		mark := len(resp)
		if e.cfg.Validate {
			field, issue, ev := e.check(kind, recs[i].raw)
			if issue != "" {
				e.refuse(w, c, len(recs), i, single, field, issue)
				return
			}
			if s, ok := ev.(string); ok {
				b, _ := json.Marshal(s)
				resp = append(resp, b...)
				id = s
			}
		} else if tok := recs[i].stringField(fieldEventID); tok != nil {
			resp = append(resp, tok...)
			if ids != nil {
				id = unquote(tok)
			}
		}
		if len(resp) == mark { // no event_id: the emulator names it
			n := e.nextID.Add(1)
			resp = strconv.AppendUint(append(resp, `"emu-`...), n, 10)
			resp = append(resp, '"')
			if ids != nil {
				id = "emu-" + strconv.FormatUint(n, 10)
			}
		}
		if ids != nil {
			ids[i] = id
		}
	}
	resp = append(resp, `],"count":`...)
	resp = strconv.AppendInt(resp, int64(len(recs)), 10)
	resp = append(resp, '}')
	sc.resp = resp

	if e.cfg.KeepRecords {
		e.keep(kind, recs, ids)
	}
	if e.delays != nil {
		e.delays[kind].trackDelays(recs, time.Now())
	}
	c.accepted.Add(1)
	c.recordsAccepted.Add(int64(len(recs)))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(http.StatusOK)
	w.Write(resp)
}

// check decodes and validates one record, then asks the Reject hook. It
// returns the failing field ("" for the hook's refusals) and issue, or the
// record's event_id when it passes.
func (e *Emulator) check(kind optikpi.Kind, raw []byte) (field, issue string, eventID any) {
	rs, err := optikpi.DecodeRecords(raw)
	if err != nil {
		return "", "invalid JSON: " + strings.TrimPrefix(err.Error(), optikpi.ErrMalformedBody.Error()+": "), nil
	}
	rec := rs[0]
	if err := kind.Validate(rec, optikpi.ValidateOptions{Strict: e.cfg.Strict}); err != nil {
		var ve *optikpi.ValidationError
		if errors.As(err, &ve) {
			return ve.Field, ve.Issue, nil
		}
		return "", err.Error(), nil
	}
	if e.cfg.Reject != nil {
		if issue := e.cfg.Reject(kind, rec); issue != "" {
			return "", issue, nil
		}
	}
	return "", "", rec["event_id"]
}

// refuse answers 400 for record i of a request of n, naming it as the sink
// expects: details.field "[i].field" ("[i]" when no one field is to blame),
// or just the field for a single-object body.
func (e *Emulator) refuse(w http.ResponseWriter, c *counters, n, i int, single bool, field, issue string) {
	c.rejected.Add(1)
	c.recordsRejected.Add(int64(n))
	at, msg := field, issue
	if field != "" {
		msg = field + ": " + issue
	}
	if !single {
		at = "[" + strconv.Itoa(i) + "]"
		if field != "" {
			at += "." + field
		}
		msg = "record " + strconv.Itoa(i) + ": " + msg
	}
	writeError(w, http.StatusBadRequest, "Validation failed: "+msg, at, issue)
}

// readBody reads at most limit bytes of r's body into buf[:0], growing it
// as needed; tooLarge reports a body beyond them.
func readBody(r *http.Request, limit int, buf []byte) (body []byte, tooLarge bool, err error) {
	if r.ContentLength > int64(limit) {
		return nil, true, nil
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // +1 to see EOF without growing
	}
	if cap(buf) < size {
		buf = make([]byte, 0, size)
	}
	buf = buf[:0]
	for {
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > limit {
			return nil, true, nil
		}
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // HTTP/2, or a recorder: abort the response
}

// apiError is the guide's error body.
type apiError struct {
	Error   string         `json:"error"`
	Message string         `json:"message"`
	Details *apiErrDetails `json:"details,omitempty"`
}

type apiErrDetails struct {
	Field string `json:"field"`
	Issue string `json:"issue"`
}

func writeError(w http.ResponseWriter, status int, message, field, issue string) {
	body := apiError{Error: http.StatusText(status), Message: message}
	if field != "" || issue != "" {
		body.Details = &apiErrDetails{Field: field, Issue: issue}
	}
	writeJSON(w, status, body)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "Use "+allow, "", "")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

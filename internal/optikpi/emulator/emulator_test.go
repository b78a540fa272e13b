package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

const (
	testToken     = "emulator-test-token-77c1"
	testAccount   = "68911b7ad58ad825ec00c5ef"
	testWorkspace = "68911b7ad825ec00c5ef"
)

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Token, cfg.AccountID, cfg.WorkspaceID = testToken, testAccount, testWorkspace
	return cfg
}

func start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client returns the real client for s, unlimited, with quick retries.
func client(t testing.TB, s *Server, opts ...optikpi.ClientOption) *optikpi.Client {
	t.Helper()
	unlimited := make(map[optikpi.Kind]rate.Limit)
	for _, k := range optikpi.Kinds() {
		unlimited[k] = rate.Inf
	}
	opts = append([]optikpi.ClientOption{
		optikpi.WithRateLimits(unlimited),
		optikpi.WithRetry(optikpi.RetryPolicy{MaxAttempts: 1}),
	}, opts...)
	c, err := optikpi.NewClient(s.URL, testAccount, testWorkspace, optikpi.StaticToken(testToken), opts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func deposit(i int) optikpi.Record {
	return optikpi.Record{
		"account_id":     testAccount,
		"workspace_id":   testWorkspace,
		"user_id":        fmt.Sprintf("user%04d", i%97),
		"event_category": "Deposit",
		"event_name":     "Successful Deposit",
		"event_id":       fmt.Sprintf("evt_dep_%06d", i),
		"event_time":     "2024-01-15T14:45:00Z",
		"amount":         json.Number(strconv.Itoa(10 + i)),
		"payment_method": "card",
		"transaction_id": fmt.Sprintf("txn_%06d", i),
		"currency":       "EUR",
	}
}

// encoded returns the JSON of deposits from..from+n-1.
func encoded(t testing.TB, from, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range n {
		e, err := optikpi.Encode(optikpi.KindDeposit, deposit(from+i), optikpi.ValidateOptions{})
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		out[i] = e.JSON
	}
	return out
}

func batch(t testing.TB, from, n int) []byte { return optikpi.AppendBatch(nil, encoded(t, from, n)) }

// post sends body to the endpoint of kind, signed and authenticated unless
// edit changes the request, and returns the status, the headers and the
// parsed error body (zero on success).
func post(t *testing.T, s *Server, endpoint string, body []byte, edit func(r *http.Request)) (int, http.Header, optikpi.APIError) {
	t.Helper()
	req := signedRequest(t, s.URL+endpoint, body)
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var apiErr optikpi.APIError
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &apiErr); err != nil || apiErr.Error == "" || apiErr.Message == "" {
			t.Errorf("POST %s: %d body %s is not the guide's error format", endpoint, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, resp.Header, apiErr
}

func TestNewValidates(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
	}{
		{"no token", func(c *Config) { c.Token = "" }},
		{"no account", func(c *Config) { c.AccountID = "" }},
		{"no workspace", func(c *Config) { c.WorkspaceID = "" }},
		{"fail rate", func(c *Config) { c.FailRate = 1.5 }},
		{"drop rate", func(c *Config) { c.DropRate = -0.1 }},
		{"latency", func(c *Config) { c.Latency = -time.Second }},
		{"max records", func(c *Config) { c.MaxRecords = -1 }},
	}
	for _, c := range cases {
		cfg := testConfig()
		c.edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New(%+v) succeeded; want an error", c.name, cfg)
		}
	}
	if _, err := New(testConfig()); err != nil {
		t.Errorf("New(testConfig()) = %v; want success", err)
	}
}

func TestAcceptsBatch(t *testing.T) {
	for _, validate := range []bool{true, false} {
		t.Run(fmt.Sprintf("validate=%v", validate), func(t *testing.T) {
			cfg := testConfig()
			cfg.Validate = validate
			s := start(t, cfg)
			c := client(t, s)
			objs := encoded(t, 0, 3)
			resp, err := c.Send(context.Background(), optikpi.KindDeposit, optikpi.AppendBatch(nil, objs))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			wantIDs := []string{"evt_dep_000000", "evt_dep_000001", "evt_dep_000002"}
			if resp.Count != 3 || resp.Message != "3 record(s) processed successfully" || fmt.Sprint(resp.RecordIDs) != fmt.Sprint(wantIDs) {
				t.Errorf("response = %+v; want count 3, ids %v", *resp, wantIDs)
			}
			// A single object is a batch of one; a customer has no event_id.
			cust, err := optikpi.Encode(optikpi.KindCustomer, optikpi.Record{
				"account_id": testAccount, "workspace_id": testWorkspace, "user_id": "u1",
				"creation_timestamp": "2024-01-15T10:30:00Z",
			}, optikpi.ValidateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			resp, err = c.Send(context.Background(), optikpi.KindCustomer, cust.JSON)
			if err != nil || resp.Count != 1 || len(resp.RecordIDs) != 1 || !strings.HasPrefix(resp.RecordIDs[0], "emu-") {
				t.Fatalf("Send customer = %+v, %v; want one generated id", resp, err)
			}
			custID := resp.RecordIDs[0]

			recs := s.Records(optikpi.KindDeposit)
			if len(recs) != 3 || !bytes.Equal(recs[1], objs[1]) {
				t.Errorf("Records = %d records, [1] %s; want 3, [1] %s", len(recs), recs[1], objs[1])
			}
			if got := s.EventIDs(optikpi.KindDeposit); fmt.Sprint(got) != fmt.Sprint(wantIDs) {
				t.Errorf("EventIDs = %v; want %v", got, wantIDs)
			}
			if got := s.EventIDs(optikpi.KindCustomer); len(got) != 1 || got[0] != custID {
				t.Errorf("customer EventIDs = %v; want [%s]", got, custID)
			}
			want := EndpointStats{Requests: 1, Accepted: 1, RecordsAccepted: 3}
			if got := s.Stats().Endpoints["/events/deposit"]; got != want {
				t.Errorf("deposit stats = %+v; want %+v", got, want)
			}

			// The same through the emulator's own endpoints.
			var st Stats
			getJSON(t, strings.TrimSuffix(s.URL, ingestRoot)+statsPath, &st)
			if got := st.Endpoints["/events/deposit"]; got != want {
				t.Errorf("GET %s deposit = %+v; want %+v", statsPath, got, want)
			}
			var raw []json.RawMessage
			getJSON(t, strings.TrimSuffix(s.URL, ingestRoot)+recordsPath+"?endpoint=/events/deposit", &raw)
			if len(raw) != 3 || !bytes.Equal(raw[2], objs[2]) {
				t.Errorf("GET %s = %d records; want the 3 accepted", recordsPath, len(raw))
			}

			s.Reset()
			if st := s.Stats().Total(); st != (EndpointStats{}) || len(s.Records(optikpi.KindDeposit)) != 0 {
				t.Errorf("after Reset: stats %+v, %d records; want none", st, len(s.Records(optikpi.KindDeposit)))
			}
		})
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestRefusals(t *testing.T) {
	good := batch(t, 0, 3)
	bad := encoded(t, 0, 4)
	bad[2] = bytes.Replace(bad[2], []byte(`"amount":12`), []byte(`"amount":"twelve"`), 1)
	badBatch := optikpi.AppendBatch(nil, bad)
	badSingle := bytes.Replace(encoded(t, 0, 1)[0], []byte(`"amount":10`), []byte(`"amount":"ten"`), 1)

	cases := []struct {
		name     string
		cfg      func(*Config)
		endpoint string
		body     []byte
		edit     func(*http.Request)
		status   int
		field    string // details.field, "" to skip
		inMsg    string // part of the message, "" to skip
	}{
		{name: "unknown endpoint", endpoint: "/events/bets", body: good, status: 404},
		{name: "tampered body", endpoint: "/events/deposit", body: good, status: 401, field: "x-hmac-signature",
			edit: func(r *http.Request) {
				tampered := bytes.Replace(good, []byte(`"amount":10`), []byte(`"amount":10000`), 1)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(tampered)), int64(len(tampered))
			}},
		{name: "signature of another token", endpoint: "/events/deposit", body: good, status: 401, edit: func(r *http.Request) {
			s := optikpi.NewSigner(optikpi.Credentials{Token: "other", AccountID: testAccount, WorkspaceID: testWorkspace})
			r.Header.Set("x-hmac-signature", s.Sign(good))
		}},
		{name: "no signature", endpoint: "/events/deposit", body: good, status: 401, edit: func(r *http.Request) { r.Header.Del("x-hmac-signature") }},
		{name: "wrong token", endpoint: "/events/deposit", body: good, status: 401, edit: func(r *http.Request) { r.Header.Set("x-optikpi-token", testToken+"x") }},
		{name: "no token", endpoint: "/events/deposit", body: good, status: 401, edit: func(r *http.Request) { r.Header.Del("x-optikpi-token") }},
		{name: "wrong account", endpoint: "/events/deposit", body: good, status: 401, edit: func(r *http.Request) { r.Header.Set("x-optikpi-account-id", "other") }},
		{name: "wrong workspace", endpoint: "/events/deposit", body: good, status: 401, edit: func(r *http.Request) { r.Header.Set("x-optikpi-workspace-id", "other") }},
		{name: "wrong algorithm", endpoint: "/events/deposit", body: good, status: 401, edit: func(r *http.Request) { r.Header.Set("x-hmac-algorithm", "md5") }},
		{name: "501 records", endpoint: "/events/deposit", body: batch(t, 0, 501), status: 400, inMsg: "500"},
		{name: "501 records unvalidated", cfg: func(c *Config) { c.Validate = false }, endpoint: "/events/deposit", body: batch(t, 0, 501), status: 400, inMsg: "500"},
		{name: "oversize", cfg: func(c *Config) { c.MaxBodyBytes = 1000 }, endpoint: "/events/deposit", body: batch(t, 0, 10), status: 413},
		{name: "oversize without length", cfg: func(c *Config) { c.MaxBodyBytes = 1000 }, endpoint: "/events/deposit", body: batch(t, 0, 10), status: 413,
			edit: func(r *http.Request) { r.ContentLength = -1; r.Body = io.NopCloser(bytes.NewReader(batch(t, 0, 10))) }},
		{name: "invalid record", endpoint: "/events/deposit", body: badBatch, status: 400, field: "[2].amount", inMsg: "record 2: amount: must be a number"},
		{name: "invalid single object", endpoint: "/events/deposit", body: badSingle, status: 400, field: "amount"},
		{name: "strict", cfg: func(c *Config) { c.Strict = true }, endpoint: "/events/deposit", status: 400, field: "[1].amount",
			body: optikpi.AppendBatch(nil, [][]byte{encoded(t, 0, 1)[0], bytes.Replace(encoded(t, 1, 1)[0], []byte(`"amount":11`), []byte(`"amount":0`), 1)})},
		{name: "reject hook", endpoint: "/events/deposit", body: good, status: 400, field: "[1]", inMsg: "record 1: refused by the test",
			cfg: func(c *Config) {
				c.Reject = func(k optikpi.Kind, r optikpi.Record) string {
					if k == optikpi.KindDeposit && r["event_id"] == "evt_dep_000001" {
						return "refused by the test"
					}
					return ""
				}
			}},
		{name: "malformed", endpoint: "/events/deposit", body: []byte(`[{"event_id":"a"},`), status: 400, field: "body"},
		{name: "not records", endpoint: "/events/deposit", body: []byte(`[1,2]`), status: 400, field: "body"},
		{name: "empty array", endpoint: "/events/deposit", body: []byte(`[]`), status: 400, field: "body"},
		// The relay's start-up probe relies on credentials being checked first.
		{name: "empty array, wrong token", endpoint: "/events/account", body: []byte(`[]`), status: 401, field: "x-optikpi-token",
			edit: func(r *http.Request) { r.Header.Set("x-optikpi-token", testToken+"x") }},
		{name: "wrong model", endpoint: "/customers", body: good, status: 400, field: "[0].creation_timestamp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			s := start(t, cfg)
			status, _, apiErr := post(t, s, c.endpoint, c.body, c.edit)
			if status != c.status {
				t.Errorf("status = %d (%+v); want %d", status, apiErr, c.status)
			}
			if c.field != "" && apiErr.Details.Field != c.field {
				t.Errorf("details.field = %q (%+v); want %q", apiErr.Details.Field, apiErr, c.field)
			}
			if c.inMsg != "" && !strings.Contains(apiErr.Message, c.inMsg) {
				t.Errorf("message = %q; want it to contain %q", apiErr.Message, c.inMsg)
			}
			total := s.Stats().Total()
			if total.Accepted != 0 || total.RecordsAccepted != 0 || len(s.Records(optikpi.KindDeposit)) != 0 {
				t.Errorf("a refused request left %+v and %d records; want nothing accepted", total, len(s.Records(optikpi.KindDeposit)))
			}
			switch status {
			case 401:
				if total.Unauthorized != 1 {
					t.Errorf("unauthorized = %d; want 1", total.Unauthorized)
				}
			case 400, 413:
				if total.Rejected != 1 {
					t.Errorf("rejected = %d; want 1", total.Rejected)
				}
			}
		})
	}
}

// TestClientSeesRejection: the real client reads the emulator's 400 as a
// rejection naming the record, and the refused batch leaves nothing behind.
func TestClientSeesRejection(t *testing.T) {
	s := start(t, testConfig())
	objs := encoded(t, 0, 5)
	objs[3] = bytes.Replace(objs[3], []byte(`"event_time":"2024-01-15T14:45:00Z"`), []byte(`"event_time":"yesterday"`), 1)
	_, err := client(t, s).Send(context.Background(), optikpi.KindDeposit, optikpi.AppendBatch(nil, objs))
	var e *optikpi.Error
	if !errors.As(err, &e) || !errors.Is(err, optikpi.ErrRejected) || e.Status != 400 || e.API == nil || e.API.Details.Field != "[3].event_time" {
		t.Fatalf("Send error = %v; want rejected, 400, details.field [3].event_time", err)
	}
	st := s.Stats().Endpoints["/events/deposit"]
	if st.Rejected != 1 || st.RecordsRejected != 5 || st.RecordsAccepted != 0 {
		t.Errorf("stats = %+v; want 1 rejected request of 5 records, none accepted", st)
	}
}

func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = true
	s := start(t, cfg)
	body := batch(t, 0, 1)
	// A second's burst is 50 for customers; 120 quick requests must meet a
	// 429 (each answer is a 400: these are deposits, and that is after the
	// rate limit).
	var throttled int
	var retryAfter string
	for range 120 {
		status, h, _ := post(t, s, "/customers", body, nil)
		if status == http.StatusTooManyRequests {
			throttled++
			retryAfter = h.Get("Retry-After")
		}
	}
	if throttled == 0 || retryAfter != "1" {
		t.Errorf("throttled %d of 120 requests, last Retry-After %q; want some, with Retry-After 1", throttled, retryAfter)
	}
	if st := s.Stats().Endpoints["/customers"]; st.Throttled != int64(throttled) || st.Requests != 120 {
		t.Errorf("stats = %+v; want %d throttled of 120", st, throttled)
	}
	// Each endpoint has its own limit.
	if status, _, _ := post(t, s, "/events/deposit", body, nil); status != http.StatusOK {
		t.Errorf("deposit status = %d; want 200", status)
	}

	// The bucket refills while we talk, so keep asking until it is empty
	// again rather than assuming the next request is throttled.
	s.SetRetryAfter(false)
	var offThrottled int
	for range 120 {
		status, h, _ := post(t, s, "/customers", body, nil)
		if status != http.StatusTooManyRequests {
			continue
		}
		offThrottled++
		if h.Values("Retry-After") != nil {
			t.Fatalf("with Retry-After off: 429 with Retry-After %q; want no header", h.Values("Retry-After"))
		}
	}
	if offThrottled == 0 {
		t.Errorf("with Retry-After off: no 429 in 120 requests; want some")
	}
	s.SetRetryAfter(true)

	s.SetRateLimit(false)
	if status, _, _ := post(t, s, "/customers", body, nil); status == http.StatusTooManyRequests {
		t.Errorf("status 429 with the rate limit off")
	}
}

// TestRateLimitScale: scaled limits throttle at a tenth of the volume.
func TestRateLimitScale(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = true
	cfg.RateLimitScale = 0.1 // customers: 5 a second, a burst of 5
	s := start(t, cfg)
	body := batch(t, 0, 1)
	var throttled int
	for range 12 {
		if status, _, _ := post(t, s, "/customers", body, nil); status == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled == 0 {
		t.Errorf("throttled none of 12 quick requests; want some beyond a burst of 5")
	}
}

// TestRateLimitBurst: without burst, the second request within the
// limit's interval (here 20 s) is throttled.
func TestRateLimitBurst(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = true
	cfg.RateLimitScale = 0.001 // customers: one every 20 s
	cfg.RateLimitBurst = 1
	s := start(t, cfg)
	body := batch(t, 0, 1)
	var got []bool
	for range 2 {
		status, _, _ := post(t, s, "/customers", body, nil)
		got = append(got, status == http.StatusTooManyRequests)
	}
	if want := []bool{false, true}; !slices.Equal(got, want) {
		t.Errorf("throttled %v; want %v", got, want)
	}
	cfg.RateLimitBurst = -1
	if _, err := New(cfg); err == nil {
		t.Error("New accepted a negative burst")
	}
}

// TestClientSeesThrottling: the real client reads a 429 as throttled, with
// the server's Retry-After.
func TestClientSeesThrottling(t *testing.T) {
	cfg := testConfig()
	cfg.RateLimit = true
	em, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	em.limiters[optikpi.KindDeposit] = rate.NewLimiter(rate.Every(2*time.Second), 1) // one request, then one every 2s
	ts := httptest.NewServer(em)
	defer ts.Close()
	c := client(t, &Server{Emulator: em, URL: ts.URL + ingestRoot})
	body := batch(t, 0, 1)
	if _, err := c.Send(context.Background(), optikpi.KindDeposit, body); err != nil {
		t.Fatalf("first Send: %v", err)
	}
	_, err = c.Send(context.Background(), optikpi.KindDeposit, body)
	var e *optikpi.Error
	if !errors.As(err, &e) || !errors.Is(err, optikpi.ErrThrottled) || e.RetryAfter != 2*time.Second {
		t.Errorf("second Send error = %v; want throttled with RetryAfter 2s", err)
	}
}

// TestFaults: injected failures and dropped connections reach the real
// client as transient errors, and stop when turned off.
func TestFaults(t *testing.T) {
	cases := []struct {
		name   string
		set    func(*Emulator, float64)
		status func(int) bool
		count  func(EndpointStats) int64
	}{
		{"fail", (*Emulator).SetFailRate, func(s int) bool { return s == 500 || s == 503 }, func(s EndpointStats) int64 { return s.Failed }},
		{"drop", (*Emulator).SetDropRate, func(s int) bool { return s == 0 }, func(s EndpointStats) int64 { return s.Dropped }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, testConfig())
			c.set(s.Emulator, 1)
			cl := client(t, s, optikpi.WithRetry(optikpi.RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
			_, err := cl.Send(context.Background(), optikpi.KindDeposit, batch(t, 0, 2))
			var e *optikpi.Error
			if !errors.As(err, &e) || !errors.Is(err, optikpi.ErrTransient) || !c.status(e.Status) || e.Attempts != 3 {
				t.Fatalf("Send error = %v; want a transient %s after 3 attempts", err, c.name)
			}
			if st := s.Stats().Endpoints["/events/deposit"]; c.count(st) != 3 || st.Accepted != 0 {
				t.Errorf("stats = %+v; want 3 of %s, none accepted", st, c.name)
			}
			c.set(s.Emulator, 0)
			if _, err := cl.Send(context.Background(), optikpi.KindDeposit, batch(t, 0, 2)); err != nil {
				t.Errorf("Send with the fault off: %v", err)
			}
		})
	}
}

// TestSeededFaults: the same seed gives the same answers.
func TestSeededFaults(t *testing.T) {
	statuses := func() string {
		cfg := testConfig()
		cfg.FailRate, cfg.Seed = 0.5, 42
		em, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for range 30 {
			out = append(out, strconv.Itoa(serve(t, em, "/events/deposit", batch(t, 0, 1))))
		}
		return strings.Join(out, ",")
	}
	a, b := statuses(), statuses()
	if a != b || !strings.Contains(a, "200") || !strings.Contains(a, "500") || !strings.Contains(a, "503") {
		t.Errorf("statuses %s and %s; want the same mix of 200, 500 and 503", a, b)
	}
}

func TestLatency(t *testing.T) {
	cfg := testConfig()
	cfg.Latency = time.Second
	s := start(t, cfg)
	c := client(t, s, optikpi.WithTimeout(20*time.Millisecond))
	if _, err := c.Send(context.Background(), optikpi.KindDeposit, batch(t, 0, 1)); !errors.Is(err, optikpi.ErrTransient) {
		t.Errorf("Send error = %v; want a transient timeout behind a 1s latency", err)
	}
	s.SetLatency(0)
	if _, err := c.Send(context.Background(), optikpi.KindDeposit, batch(t, 0, 1)); err != nil {
		t.Errorf("Send without latency: %v", err)
	}
}

func TestHealthAndRoutes(t *testing.T) {
	s := start(t, testConfig())
	if h, err := client(t, s).Health(context.Background()); h != optikpi.HealthOK || err != nil {
		t.Errorf("Health = %v, %v; want ok", h, err)
	}
	root := strings.TrimSuffix(s.URL, ingestRoot)
	cases := []struct {
		method, path string
		status       int
	}{
		{"GET", root + "/gw/prefix/apigw/ingest/datapipeline/health", 200},
		{"GET", s.URL + "/events/deposit", 405},
		{"GET", root + "/nowhere", 404},
		{"GET", root + recordsPath + "?endpoint=/nope", 400},
		{"POST", root + statsPath, 405},
		{"POST", root + resetPath, 204},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s = %d; want %d", c.method, c.path, resp.StatusCode, c.status)
		}
	}
	// The prefix before /apigw/ingest is free, as behind a gateway.
	c, err := optikpi.NewClient(root+"/stage/apigw/ingest", testAccount, testWorkspace, optikpi.StaticToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), optikpi.KindWithdraw, optikpi.AppendBatch(nil, [][]byte{[]byte(`{"account_id":"` + testAccount +
		`","workspace_id":"` + testWorkspace + `","user_id":"u","event_category":"Withdraw","event_name":"Successful Withdrawal","event_id":"w1","event_time":"2024-01-15T14:45:00Z","amount":5}`)})); err != nil {
		t.Errorf("Send under a prefix: %v", err)
	}
}

// serve runs one signed request through the handler without a network.
func serve(t testing.TB, em *Emulator, endpoint string, body []byte) int {
	t.Helper()
	w := newDiscardWriter()
	em.ServeHTTP(w, signedRequest(t, "http://emulator"+ingestRoot+endpoint, body))
	return w.status
}

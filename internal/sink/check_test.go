package sink

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestCheck: a wrong token is found by the start-up check, before any
// batch: the destination is misconfigured at once, probed again until the
// token is fixed, and its records wait meanwhile. A good destination is ok,
// one that does not answer is unreachable and stays ready.
func TestCheck(t *testing.T) {
	const wrong = "wrong-token-do-not-log"
	em, srv := newEmulator(t, nil)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(wrong+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gone := httptest.NewServer(nil)
	gone.Close()
	dest := func(name, url string, tok optikpi.TokenSource) Destination {
		return Destination{Name: name, BaseURL: url + "/apigw/ingest", AccountID: testAccount, WorkspaceID: testWorkspace, Token: tok}
	}
	opts := testOptions()
	opts.Linger = time.Millisecond
	s, err := New([]Destination{
		dest("good", srv.URL, optikpi.StaticToken(testToken)),
		dest("wrong", srv.URL, optikpi.NewFileToken(path)),
		dest("gone", gone.URL, optikpi.StaticToken(testToken)),
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var got []string
	for _, c := range s.Check(ctx) {
		got = append(got, fmt.Sprintf("%s=%s/%v", c.Destination, c.Result, c.Health))
		if c.Err != nil && strings.Contains(c.Err.Error(), wrong) {
			t.Errorf("%s: check error shows the token: %v", c.Destination, c.Err)
		}
	}
	if want := "[good=ok/ok wrong=misconfigured/ok gone=unreachable/down]"; fmt.Sprint(got) != want {
		t.Errorf("Check = %v\nwant %s", got, want)
	}
	if n := em.Stats().Total().RecordsAccepted; n != 0 {
		t.Errorf("the probes stored %d records; want 0", n)
	}
	for _, c := range []struct{ dest, result string }{{"good", CheckOK}, {"wrong", CheckMisconfigured}, {"gone", CheckUnreachable}} {
		for _, r := range checkResults {
			want := 0.0
			if r == c.result {
				want = 1
			}
			if got := testutil.ToFloat64(s.checkGauge.WithLabelValues(c.dest, r)); got != want {
				t.Errorf("destination_check{destination=%q,result=%q} = %v; want %v", c.dest, r, got, want)
			}
		}
	}
	err = s.Ready()
	if err == nil || !strings.Contains(err.Error(), `"wrong"`) || strings.Contains(err.Error(), `"good"`) || strings.Contains(err.Error(), `"gone"`) || strings.Contains(err.Error(), wrong) {
		t.Errorf("Ready after the check = %v; want only %q misconfigured, without the token", err, "wrong")
	}

	// Records for it wait for the token, and are then delivered.
	res := newResults()
	recs := deposits(t, 5)
	for _, r := range recs {
		if err := s.Send(context.Background(), "wrong", r, res.done(r.EventID)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * opts.MisconfiguredRetry)
	if n := res.calls.Load(); n != 0 {
		t.Errorf("while misconfigured: %d records final; want 0", n)
	}
	if err := os.WriteFile(path, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res.wait(t, len(recs))
	if d, f := res.counts(); d != len(recs) || f != 0 {
		t.Errorf("after the fix: %d delivered, %d failed; want %d, 0", d, f, len(recs))
	}
	if err := s.Ready(); err != nil {
		t.Errorf("Ready after the fix = %v", err)
	}
	if got := testutil.ToFloat64(s.checkGauge.WithLabelValues("wrong", CheckOK)); got != 1 {
		t.Errorf("destination_check{destination=%q,result=%q} after the fix = %v; want 1", "wrong", CheckOK, got)
	}
	// The probes are not requests of an endpoint.
	if got := testutil.ToFloat64(s.metrics.requests.WithLabelValues("wrong", probeKind.Endpoint(), optikpi.Misconfigured.String())); got != 0 {
		t.Errorf("probes counted as %v requests", got)
	}
}

package telemetry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServer(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	pr := new(probes)
	s, err := Listen("127.0.0.1:0", reg, pr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + s.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		path              string
		notLive, notReady error
		status            int
		contains          string
	}{
		{"/healthz", nil, nil, 200, "ok"},
		{"/healthz", nil, errors.New("not joined"), 200, "ok"},
		{"/healthz", errors.New("consumer loop stopped"), nil, 503, "not live: consumer loop stopped"},
		{"/readyz", nil, nil, 200, "ready"},
		{"/readyz", nil, errors.New("destination main: 401"), 503, "not ready: destination main: 401"},
		{"/metrics", nil, nil, 200, "optikpi_relay_test_total 3"},
		{"/metrics", nil, nil, 200, "go_goroutines"},
		{"/metrics", nil, nil, 200, `optikpi_relay_build_info{commit="`},
	}
	for _, tt := range tests {
		pr.live, pr.ready = tt.notLive, tt.notReady
		status, body := get(tt.path)
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s (notLive=%v, notReady=%v) = %d %q; want %d containing %q", tt.path, tt.notLive, tt.notReady, status, body, tt.status, tt.contains)
		}
	}
}

// probes answers with the errors a test sets.
type probes struct{ live, ready error }

func (p *probes) Live() error  { return p.live }
func (p *probes) Ready() error { return p.ready }

func TestNewLogger(t *testing.T) {
	tests := []struct {
		level, format string
		ok            bool
	}{
		{"info", "json", true},
		{"debug", "console", true},
		{"loud", "json", false},
		{"info", "xml", false},
	}
	for _, tt := range tests {
		_, err := NewLogger(tt.level, tt.format)
		if (err == nil) != tt.ok {
			t.Errorf("NewLogger(%q, %q) error = %v; want ok=%v", tt.level, tt.format, err, tt.ok)
		}
	}
}

// A client that never finishes its headers is cut off at the read-header
// timeout rather than holding the connection.
func TestServerTimeouts(t *testing.T) {
	s, err := Listen("127.0.0.1:0", NewRegistry(), new(probes), nil,
		WithTimeouts(Timeouts{ReadHeader: 200 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	want := DefaultTimeouts()
	want.ReadHeader = 200 * time.Millisecond
	got := Timeouts{s.srv.ReadHeaderTimeout, s.srv.ReadTimeout, s.srv.WriteTimeout, s.srv.IdleTimeout}
	if got != want {
		t.Errorf("timeouts: got %+v, want %+v (zero fields keep their default)", got, want)
	}

	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a half-sent request open for %s", time.Since(start))
	}
}

package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestServer(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	var readyErr error
	s, err := Listen("127.0.0.1:0", reg, func() error { return readyErr }, nil)
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
		path     string
		notReady error
		status   int
		contains string
	}{
		{"/healthz", nil, 200, "ok"},
		{"/readyz", nil, 200, "ready"},
		{"/readyz", errors.New("destination main: 401"), 503, "destination main: 401"},
		{"/metrics", nil, 200, "optikpi_relay_test_total 3"},
		{"/metrics", nil, 200, "go_goroutines"},
		{"/metrics", nil, 200, `optikpi_relay_build_info{commit="`},
	}
	for _, tt := range tests {
		readyErr = tt.notReady
		status, body := get(tt.path)
		if status != tt.status || !strings.Contains(body, tt.contains) {
			t.Errorf("GET %s (notReady=%v) = %d %q; want %d containing %q", tt.path, tt.notReady, status, body, tt.status, tt.contains)
		}
	}
}

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

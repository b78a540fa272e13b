package bench

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// The bench's configuration keeps the example's routes and points it at the
// bench's processes; without limits every model is unlimited (rate.Inf),
// with them the example's limits stay.
func TestRelayConfig(t *testing.T) {
	for _, limits := range []bool{false, true} {
		path, cfg, err := relayConfig("../../config.example.yaml", t.TempDir(), "127.0.0.1:1234", "http://127.0.0.1:5678/apigw/ingest", "127.0.0.1:9999", limits)
		if err != nil {
			t.Fatalf("limits %v: %v", limits, err)
		}
		d := cfg.Destinations[0]
		if got := cfg.Kafka.Brokers; len(got) != 1 || got[0] != "127.0.0.1:1234" {
			t.Errorf("%s: brokers %v; want [127.0.0.1:1234]", path, got)
		}
		if d.BaseURL != "http://127.0.0.1:5678/apigw/ingest" || d.TokenEnv != tokenEnv || d.TokenFile != "" {
			t.Errorf("%s: destination %+v; want the emulator's URL and the token in $%s", path, d, tokenEnv)
		}
		if cfg.Observability.Listen != "127.0.0.1:9999" || len(cfg.Routing.Routes) < 10 {
			t.Errorf("%s: listen %q, %d routes; want 127.0.0.1:9999 and the example's routes", path, cfg.Observability.Listen, len(cfg.Routing.Routes))
		}
		for _, k := range optikpi.Kinds() {
			got, set := cfg.Sink.RateLimits[k.String()]
			if !set {
				got = float64(k.RateLimit()) // the sink's default, the guide's
			}
			want := float64(k.RateLimit())
			if !limits {
				want = math.MaxFloat64
				if rate.Limit(got) != rate.Inf {
					t.Errorf("%s: %s limit %v is not rate.Inf", path, k, got)
				}
			}
			if got != want {
				t.Errorf("%s: limits %v: rate limit of %s = %v; want %v", path, limits, k, got, want)
			}
		}
	}
}

// An operator's configuration with a proxy and TLS towards Optikpi runs
// the bench without them: the emulator is local plain HTTP.
func TestRelayConfigDropsSinkTLSAndProxy(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	for _, e := range []struct {
		path  []string
		value any
	}{
		{[]string{"sink", "proxy_url"}, "http://proxy.internal:3128"},
		{[]string{"sink", "tls", "ca_file"}, "/etc/ssl/corp-ca.pem"},
	} {
		if err := set(root, e.path, e.value); err != nil {
			t.Fatal(err)
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "operator.yaml")
	if err := os.WriteFile(src, out, 0o600); err != nil {
		t.Fatal(err)
	}
	path, cfg, err := relayConfig(src, t.TempDir(), "127.0.0.1:1234", "http://127.0.0.1:5678/apigw/ingest", "127.0.0.1:9999", false)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Sink.ProxyURL != "" || !cfg.Sink.TLS.IsZero() {
		t.Errorf("%s: sink proxy_url %q, tls %+v; want neither", path, cfg.Sink.ProxyURL, cfg.Sink.TLS)
	}
}

// A bad rule stops the bench before it starts a process or loads the
// backlog, naming its file, line and key, as the relay would at start-up.
func TestRunRefusesBadRule(t *testing.T) {
	data, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "rule.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(data), "transform: unix_millis", "transform: unix_milis", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Executable: filepath.Join(t.TempDir(), "no-relay"), Config: bad, WorkDir: t.TempDir()})
	if want := `unknown transform "unix_milis"`; err == nil || !strings.Contains(err.Error(), "rule.yaml:") || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want the file, line and key of %q", err, want)
	}
}

// Package telemetry builds the relay's logger, metrics registry and the HTTP
// server that exposes /metrics, /healthz and /readyz.
package telemetry

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
)

// Namespace prefixes every metric the relay registers.
const Namespace = "optikpi_relay"

// NewLogger returns a zap logger at level ("debug", "info", "warn", "error")
// writing format ("json" or "console") to stderr.
func NewLogger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("telemetry: log level: %w", err)
	}
	var cfg zap.Config
	switch format {
	case "", "json":
		cfg = zap.NewProductionConfig()
	case "console":
		cfg = zap.NewDevelopmentConfig()
	default:
		return nil, fmt.Errorf("telemetry: log format %q: want json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	// Sampled per message and level (zap's production default: the first
	// 100 a second, then every 100th): a flood of rejected records must
	// not flood the logs, and the dead-letter topic and the metrics keep
	// every one of them anyway. Rare messages are never dropped.
	cfg.Sampling = &zap.SamplingConfig{Initial: 100, Thereafter: 100}
	// The relay's errors are conditions to act on (a refused token, a
	// failed commit), not bugs: a stack trace on each only buries the
	// message. The console format keeps zap's development behaviour.
	cfg.Development = false
	return cfg.Build(zap.AddStacktrace(zapcore.DPanicLevel))
}

// NewRegistry returns a registry with the Go runtime and process collectors
// and the relay's build_info, which every Prometheus-scraped daemon is
// expected to expose.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		BuildInfo(),
	)
	return reg
}

// BuildInfo returns the optikpi_relay_build_info gauge: always 1, labelled
// with the version, commit and Go version, so that a query can join it or
// show which build runs where.
func BuildInfo() prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help: "Always 1; the labels say which build of the relay runs.",
		ConstLabels: prometheus.Labels{
			"version":   buildinfo.Version(),
			"commit":    buildinfo.Commit(),
			"goversion": buildinfo.GoVersion(),
		},
	})
	g.Set(1)
	return g
}

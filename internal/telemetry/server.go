package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Server serves /metrics, /healthz (the relay is alive) and /readyz (the
// relay can deliver).
type Server struct {
	ln     net.Listener
	srv    *http.Server
	done   chan struct{}
	logger *zap.Logger
}

// Timeouts bound the server's connections, so that a slow or stuck client
// cannot hold one open forever.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers. Default 5s.
	ReadHeader time.Duration
	// Read bounds reading a whole request. Default 10s.
	Read time.Duration
	// Write bounds writing a response, from the end of the request's
	// headers: it must outlast the slowest scrape. Default 30s.
	Write time.Duration
	// Idle is how long a kept-alive connection waits for its next request.
	// Default 2m.
	Idle time.Duration
}

// DefaultTimeouts returns the timeouts a Server has unless told otherwise.
func DefaultTimeouts() Timeouts {
	return Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute}
}

// ServerOpt configures Listen.
type ServerOpt func(*Timeouts)

// WithTimeouts sets the server's timeouts; a zero field keeps its default.
func WithTimeouts(t Timeouts) ServerOpt {
	return func(to *Timeouts) {
		for _, f := range []struct{ dst, src *time.Duration }{
			{&to.ReadHeader, &t.ReadHeader}, {&to.Read, &t.Read}, {&to.Write, &t.Write}, {&to.Idle, &t.Idle},
		} {
			if *f.src > 0 {
				*f.dst = *f.src
			}
		}
	}
}

// Probes answer the health endpoints; a nil error means yes, an error says
// why not. Neither may put a secret in the error.
type Probes interface {
	// Live is asked on every /healthz request: a failure is one only a
	// restart mends.
	Live() error
	// Ready is asked on every /readyz request.
	Ready() error
}

// Listen starts serving on addr. The caller must Close the server.
func Listen(addr string, gatherer prometheus.Gatherer, probes Probes, logger *zap.Logger, opts ...ServerOpt) (*Server, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	to := DefaultTimeouts()
	for _, o := range opts {
		o(&to)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("telemetry: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := probes.Live(); err != nil {
			http.Error(w, "not live: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := probes.Ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	s := &Server{
		ln: ln,
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: to.ReadHeader,
			ReadTimeout:       to.Read,
			WriteTimeout:      to.Write,
			IdleTimeout:       to.Idle,
		},
		done:   make(chan struct{}),
		logger: logger,
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("telemetry server stopped", zap.Error(err))
		}
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close stops the server, waiting for open requests until ctx is done.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

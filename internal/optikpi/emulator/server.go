package emulator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Server is an Emulator listening on a TCP address.
type Server struct {
	*Emulator
	// URL is the base URL to configure a client with, such as
	// "http://127.0.0.1:41234/apigw/ingest".
	URL  string
	Addr string // host:port

	srv  *http.Server
	done chan error
}

// Start returns an emulator for cfg serving on 127.0.0.1 at a free port.
// Close stops it.
func Start(cfg Config) (*Server, error) { return Listen("127.0.0.1:0", cfg) }

// Listen returns an emulator for cfg serving on addr. Close stops it.
func Listen(addr string, cfg Config) (*Server, error) {
	em, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s := &Server{
		Emulator: em,
		Addr:     ln.Addr().String(),
		URL:      "http://" + ln.Addr().String() + ingestRoot,
		srv:      &http.Server{Handler: em, ReadHeaderTimeout: 10 * time.Second},
		done:     make(chan error, 1),
	}
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return s, nil
}

// Close stops the server at once, closing every connection.
func (s *Server) Close() error {
	err := s.srv.Close()
	return errors.Join(err, <-s.done)
}

// Shutdown stops the server gracefully: it stops accepting, waits for the
// requests in progress until ctx is done, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	return errors.Join(err, <-s.done)
}

// onOff is a flag that takes "on" or "off".
type onOff bool

func (b *onOff) String() string {
	if b != nil && *b {
		return "on"
	}
	return "off"
}

func (b *onOff) Set(v string) error {
	switch strings.ToLower(v) {
	case "on", "true", "1", "yes":
		*b = true
	case "off", "false", "0", "no":
		*b = false
	default:
		return fmt.Errorf("want on or off, got %q", v)
	}
	return nil
}

// Run is the command "relay dev optikpi": it serves an emulator on --listen,
// prints its base URL (http://ADDR/apigw/ingest) on a line of its own once
// listening, and serves until ctx is done, then shuts down gracefully. The
// token comes from --token or else the environment variable OPTIKPI_TOKEN.
// Usage and flag errors are written to stdout.
func Run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("relay dev optikpi", flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfg := DefaultConfig()
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&cfg.Token, "token", os.Getenv("OPTIKPI_TOKEN"), "API token requests must carry (default $OPTIKPI_TOKEN)")
	fs.StringVar(&cfg.AccountID, "account-id", "", "account id requests must carry (required)")
	fs.StringVar(&cfg.WorkspaceID, "workspace-id", "", "workspace id requests must carry (required)")
	rateLimit := onOff(true)
	fs.Var(&rateLimit, "rate-limit", "enforce the guide's rate limits, 50 req/s for customers and extattributes, 250 for events: on or off")
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0, "fraction of requests answered 500 or 503")
	fs.Float64Var(&cfg.DropRate, "drop-rate", 0, "fraction of requests whose connection is closed without an answer")
	fs.DurationVar(&cfg.Latency, "latency", 0, "delay before each ingest request is handled")
	validate := onOff(true)
	fs.Var(&validate, "validate", "decode and validate every record: on or off (off only delimits records, for throughput tests)")
	fs.BoolVar(&cfg.Strict, "strict", false, "also apply the official SDKs' stricter rules")
	keep := onOff(true)
	fs.Var(&keep, "keep-records", "keep accepted records for GET /_emulator/records: on or off (off for long load tests)")
	trackDelay := onOff(false)
	fs.Var(&trackDelay, "track-delay", "measure records' arrival time minus their event_time (one in 8), reported by GET /_emulator/stats: on or off")
	fs.IntVar(&cfg.MaxRecords, "max-records", DefaultMaxRecords, "most records per request")
	fs.IntVar(&cfg.MaxBodyBytes, "max-body-bytes", DefaultMaxBodyBytes, "largest request body")
	fs.Int64Var(&cfg.Seed, "seed", 0, "seed of the injected faults' random draws")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("relay dev optikpi: unexpected argument %q", fs.Arg(0))
	}
	cfg.RateLimit, cfg.Validate, cfg.KeepRecords, cfg.TrackDelay = bool(rateLimit), bool(validate), bool(keep), bool(trackDelay)
	if cfg.Token == "" {
		return errors.New("relay dev optikpi: --token or OPTIKPI_TOKEN is required")
	}
	if cfg.AccountID == "" || cfg.WorkspaceID == "" {
		return errors.New("relay dev optikpi: --account-id and --workspace-id are required")
	}
	s, err := Listen(*listen, cfg)
	if err != nil {
		return fmt.Errorf("relay dev optikpi: %w", err)
	}
	fmt.Fprintln(stdout, s.URL)
	select {
	case <-ctx.Done():
	case err := <-s.done:
		return fmt.Errorf("relay dev optikpi: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

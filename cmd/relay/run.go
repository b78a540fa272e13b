package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// cpuProfileEnv names a file relay run (or relay dev optikpi) writes its
// CPU profile to, from start to exit: how relay bench --cpuprofile
// (--emulator-cpuprofile) profiles the relay (the emulator) process alone,
// without a profiling endpoint open in production.
const cpuProfileEnv = "RELAY_CPU_PROFILE"

// startCPUProfile starts the CPU profile cpuProfileEnv asks for, if any;
// stop writes it out.
func startCPUProfile() (stop func(), err error) {
	path := os.Getenv(cpuProfileEnv)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, routes, _, err := loadConfig("run", args, stderr)
	if err != nil {
		return err
	}
	// validate's check, so that a missing secret stops run with validate's
	// message, naming the file, line and key, before anything starts.
	if err := cfg.CheckSecrets(); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
	logger, err := telemetry.NewLogger(cfg.Observability.LogLevel, cfg.Observability.LogFormat)
	if err != nil {
		return err
	}
	defer logger.Sync()
	// Before the pipeline allocates: a container's limit would otherwise
	// be met by an OOM kill rather than a harder-working GC.
	if _, err := telemetry.SetMemoryLimit("/", os.Getenv, logger); err != nil {
		logger.Warn("Go's soft memory limit left unset", zap.Error(err))
	}
	reg := telemetry.NewRegistry()
	// After SetMemoryLimit, which caps the tuner's heap floor.
	tuner, err := telemetry.TuneGC(os.Getenv,
		telemetry.WithGCTunerLogger(logger), telemetry.WithGCTunerRegisterer(reg))
	if err != nil {
		return err
	}
	defer tuner.Close()

	p, err := pipeline.New(cfg, pipeline.Options{Logger: logger, Registerer: reg, Mapper: routes})
	if err != nil {
		return err
	}
	srv, err := telemetry.Listen(cfg.Observability.Listen, reg, p, logger,
		telemetry.WithTimeouts(telemetry.Timeouts(cfg.Observability.ServerTimeouts)))
	if err != nil {
		p.Abort()
		return err
	}
	logger.Info("relay started",
		zap.String("version", buildinfo.Version()),
		zap.String("commit", buildinfo.Commit()),
		zap.Strings("brokers", cfg.Kafka.Brokers),
		zap.String("group", cfg.Kafka.Group),
		zap.String("observability", srv.Addr()))
	return serve(ctx, p, srv, cfg.Shutdown.Timeout, logger)
}

// serve runs p until ctx is done, then drains it within timeout.
func serve(ctx context.Context, p *pipeline.Pipeline, srv *telemetry.Server, timeout time.Duration, logger *zap.Logger) error {
	runErr := p.Run(ctx)
	logger.Info("draining", zap.Duration("deadline", timeout))
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	shutErr := p.Shutdown(sctx)
	if shutErr != nil {
		logger.Warn("drain incomplete: what was not done is left uncommitted and will be relayed again", zap.Error(shutErr))
	} else {
		logger.Info("drained and committed")
	}
	srv.Close(sctx)
	return errors.Join(runErr, shutErr)
}

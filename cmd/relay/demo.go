package main

import (
	"context"
	"io"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	path := fs.String("config", "", "configuration whose routes and sink settings the demo runs (default: the built-in "+config.ExampleName+")")
	records := fs.Int("records", 20000, "events to produce before draining and printing the summary")
	follow := fs.Bool("follow", false, "keep producing until interrupted")
	rate := fs.Int("rate", 2000, "events per second with --follow")
	partitions := fs.Int("partitions", 6, "partitions per topic")
	seed := fs.Int64("seed", 1, "generator seed: the same seed produces the same events")
	logLevel := fs.String("log-level", "error", "the relay's log level during the demo")
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg *config.Config
	var err error
	if *path == "" {
		cfg, err = config.Parse(config.Example(), config.ExampleName+" (built in)")
	} else {
		cfg, err = config.Load(*path)
	}
	cfg, _, err = compiled(cfg, err)
	if err != nil {
		return err
	}
	logger, err := telemetry.NewLogger(*logLevel, "console")
	if err != nil {
		return err
	}
	defer logger.Sync()
	_, err = demo.Run(ctx, demo.Options{
		Config:     cfg,
		Records:    *records,
		Follow:     *follow,
		Rate:       *rate,
		Partitions: *partitions,
		Seed:       *seed,
		Out:        stdout,
		Logger:     logger,
	})
	return err
}

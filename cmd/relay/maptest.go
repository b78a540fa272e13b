package main

import (
	"fmt"
	"io"
	"os"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/mapper"
)

func cmdMapTest(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("map test", stderr)
	path := fs.String("config", "", "configuration file (required)")
	topic := fs.String("topic", "", "topic the records are read from (required)")
	file := fs.String("file", "", "file of JSON records, one per line (default: standard input)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" || *topic == "" {
		fmt.Fprintln(stderr, "relay map test: --config and --topic are required")
		return errUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	m, err := mapper.New(cfg)
	if err != nil {
		return err
	}
	in := stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	ok, failed, err := mapper.RunMapTest(m, *topic, in, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d mapped, %d failed\n", ok, failed)
	if failed > 0 {
		// Non-zero, so a mapping change can be checked in CI like a test.
		return fmt.Errorf("map test: %d of %d records failed", failed, ok+failed)
	}
	return nil
}

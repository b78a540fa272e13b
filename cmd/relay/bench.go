package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optikpi/optikpi-relay/internal/bench"
	"github.com/optikpi/optikpi-relay/internal/config"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	opts := bench.Options{}
	fs.StringVar(&opts.Config, "config", "", "configuration whose routes and sink settings the relay runs; its brokers, destination and listen address are replaced (default: the built-in "+config.ExampleName+")")
	fs.IntVar(&opts.Records, "records", 1_000_000, "backlog produced before the relay starts")
	fs.BoolVar(&opts.Mix, "mix", false, "the nine-model traffic of the example configuration instead of deposits alone")
	fs.IntVar(&opts.Rate, "rate", 0, "produce this many records a second for --duration while the relay runs, instead of a backlog")
	fs.DurationVar(&opts.Duration, "duration", 30*time.Second, "how long --rate lasts")
	limits := fs.String("limits", "off", "on: the emulator enforces the guide's rate limits and the relay keeps its configured ones; off: neither limits")
	fs.IntVar(&opts.Partitions, "partitions", 6, "partitions per source topic")
	fs.Int64Var(&opts.Seed, "seed", 1, "generator seed")
	fs.StringVar(&opts.WorkDir, "work-dir", "", "keep the relay's configuration and every process's log here (default: a temporary directory, kept only if the run fails)")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	fs.Func("relay-env", "`KEY=VALUE` added to the relay process's environment alone, such as GOGC=off or GODEBUG=gctrace=1 (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return fmt.Errorf("want KEY=VALUE, got %q", v)
		}
		opts.RelayEnv = append(opts.RelayEnv, v)
		return nil
	})
	cpuProfile := fs.String("cpuprofile", "", "write the relay process's CPU profile of the whole run to this file (go tool pprof FILE)")
	emuProfile := fs.String("emulator-cpuprofile", "", "write the emulator process's CPU profile of the whole run to this file (go tool pprof FILE)")
	if err := parse(fs, args); err != nil {
		return err
	}
	// A profile's file is created by its process, the relay's only after
	// the backlog is loaded: a directory that is not there, or one file for
	// both profiles (two processes writing it at once), is refused now.
	profiles := map[string]string{}
	for _, p := range []struct {
		flag, path string
		env        *[]string
	}{{"--cpuprofile", *cpuProfile, &opts.RelayEnv}, {"--emulator-cpuprofile", *emuProfile, &opts.EmulatorEnv}} {
		if p.path == "" {
			continue
		}
		abs, err := filepath.Abs(p.path)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", p.flag, err)
		}
		if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
			fmt.Fprintf(stderr, "relay bench: %s: no directory %s to write %s in\n", p.flag, filepath.Dir(abs), filepath.Base(abs))
			return errUsage
		}
		if other, ok := profiles[abs]; ok {
			fmt.Fprintf(stderr, "relay bench: %s: %s is %s's file too; give each profile its own\n", p.flag, p.path, other)
			return errUsage
		}
		profiles[abs] = p.flag
		*p.env = append(*p.env, cpuProfileEnv+"="+abs)
	}
	switch *limits {
	case "on", "off":
		opts.Limits = *limits == "on"
	default:
		fmt.Fprintf(stderr, "relay bench: --limits: want on or off, got %q\n", *limits)
		return errUsage
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: find the relay binary: %w", err)
	}
	opts.Executable, opts.Progress = exe, stdout
	if opts.Config == "" {
		// The built-in example, so the bench runs from any directory as
		// relay demo does; the bench reads its configuration from a file.
		f, err := os.CreateTemp("", "relay-bench-*.yaml")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.Remove(f.Name())
		_, werr := f.Write(config.Example())
		if err := errors.Join(werr, f.Close()); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		opts.Config = f.Name()
	} else if _, err := os.Stat(opts.Config); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	rep, err := bench.Run(ctx, opts)
	if rep != nil && (err == nil || errors.Is(err, bench.ErrIncomplete)) {
		rep.Print(stdout)
		if *jsonPath != "" {
			if werr := writeJSON(*jsonPath, rep); werr != nil {
				return errors.Join(err, werr)
			}
		}
	}
	return err
}

func writeJSON(path string, rep *bench.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

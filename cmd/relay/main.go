// Command relay delivers an operator's Kafka events to the Optikpi Data
// Pipeline API, and carries the tools to develop and run it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
	"github.com/optikpi/optikpi-relay/internal/config"
)

const usage = `relay delivers Kafka events to the Optikpi Data Pipeline API.

Usage:
  relay demo [--records N] [--follow]           in-process Kafka + Optikpi emulator + traffic, end to end
  relay run --config FILE                       run the relay
  relay validate --config FILE                  check a configuration, listing every problem
  relay map test --config FILE [--topic T] [--file F] [--input auto|value|record]
                                                map JSON lines (stdin or F): values of topic T, or whole
                                                records (relay dlq inspect --output json), print each result
  relay dlq summary|inspect|test|replay --config FILE [FILTERS]
                                                the dead-letter topic: what failed, check a fix, replay
  relay dev kafka [--listen ADDR] [--data-dir DIR] [--topic NAME:PARTITIONS ...]
                                                a standalone Kafka-compatible broker (kfake)
  relay dev optikpi --listen ADDR --token T --account-id A --workspace-id W [...]
                                                a standalone Optikpi emulator
  relay dev produce [--brokers B] [--records N | --rate R]
                                                write the reference traffic to a Kafka
  relay version

Run "relay COMMAND --help" for a command's flags.
`

// errUsage marks an error whose message is the usage text already printed.
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	// Only the commands that drain take over SIGINT and SIGTERM; the others
	// have nothing to finish and die on the first, as programs do.
	ctx := context.Background()
	switch args[0] {
	case "run", "dev", "demo", "dlq":
		var stop func()
		ctx, stop = signalContext(func(code int) { os.Exit(code) })
		defer stop()
	}

	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = cmdRun(ctx, rest, stderr)
	case "validate":
		err = cmdValidate(rest, stdout, stderr)
	case "map":
		if len(rest) == 0 || rest[0] != "test" {
			fmt.Fprint(stderr, usage)
			return 2
		}
		err = cmdMapTest(rest[1:], stdin, stdout, stderr)
	case "dlq":
		err = cmdDLQ(ctx, rest, stdin, stdout, stderr)
	case "dev":
		err = cmdDev(ctx, rest, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, buildinfo.Version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "relay: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "relay: %v\n", err)
		return 1
	}
}

// signalContext is cancelled by the first SIGINT or SIGTERM, which starts
// the drain; a second one calls exit with 128 plus its number at once, for
// the operator who will not wait. stop releases the signals.
func signalContext(exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	stopped := make(chan struct{})
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-stopped:
			return
		}
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "relay: second %v: exiting without draining\n", sig)
			code := 1
			if n, ok := sig.(syscall.Signal); ok {
				code = 128 + int(n)
			}
			exit(code)
		case <-stopped:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(stopped)
			cancel()
		})
	}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("relay "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, turning a bad flag into errUsage (already reported).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// loadConfig parses the args of a command whose one flag is --config and
// loads that file.
func loadConfig(name string, args []string, stderr io.Writer) (*config.Config, string, error) {
	fs := newFlags(name, stderr)
	path := fs.String("config", "", "configuration file (required)")
	if err := parse(fs, args); err != nil {
		return nil, "", err
	}
	if *path == "" {
		fmt.Fprintf(stderr, "relay %s: --config is required\n", name)
		return nil, "", errUsage
	}
	cfg, err := config.Load(*path)
	return cfg, *path, err
}

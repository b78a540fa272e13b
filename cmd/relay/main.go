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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/mapper"
)

const usage = `relay delivers Kafka events to the Optikpi Data Pipeline API.

Usage:
  relay demo [--records N] [--follow]           in-process Kafka + Optikpi emulator + traffic, end to end
  relay run --config FILE                       run the relay
  relay validate --config FILE [--no-secrets]   check a configuration and its secrets, listing every problem
  relay map test --config FILE [--topic T] [--file F] [--input auto|value|record] [--output text|json] [--expect FILE]
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
  relay bench [--records N] [--mix] [--rate R --duration D] [--limits on] [--json FILE]
                                                measure the relay as a process: records/s, CPU and memory, latency
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
	case "run", "dev", "demo", "dlq", "bench":
		var stop func()
		ctx, stop = signalContext(signalEcho, func(code int) { os.Exit(code) })
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
			err = groupUsage("map", rest, stdout, stderr)
			break
		}
		err = cmdMapTest(rest[1:], stdin, stdout, stderr)
	case "dlq":
		err = cmdDLQ(ctx, rest, stdin, stdout, stderr)
	case "dev":
		err = cmdDev(ctx, rest, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, rest, stdout, stderr)
	case "version":
		err = cmdVersion(rest, stdout, stderr)
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

// groupUsage answers a command group called without one of its commands:
// with -h, --help or help it prints the group's part of the usage on stdout
// and returns flag.ErrHelp (exit 0); otherwise it says what is wrong on
// stderr and returns errUsage.
func groupUsage(group string, args []string, stdout, stderr io.Writer) error {
	text := groupUsageText(group)
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, text)
			return flag.ErrHelp
		}
		fmt.Fprintf(stderr, "relay %s: unknown command %q\n\n", group, args[0])
	}
	fmt.Fprint(stderr, text)
	return errUsage
}

// groupUsageText is the part of usage about group's commands, so that the
// commands are listed in one place.
func groupUsageText(group string) string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	in := false
	for line := range strings.SplitSeq(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "  relay "):
			in = strings.HasPrefix(line, "  relay "+group+" ")
		case !strings.HasPrefix(line, "   "):
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	fmt.Fprintf(&b, "\nRun \"relay %s COMMAND --help\" for a command's flags.\n", group)
	return b.String()
}

// exitInterrupted is the status of a run cut short by a second signal: 130,
// what a shell reports for Ctrl-C, whichever signal it was, so that scripts
// and on-call see one code for "stopped without draining".
const exitInterrupted = 130

// signalEcho is how soon after the first signal another one is taken as
// the same interrupt delivered twice, not an operator's second: timeout(1)
// and kill -- -PGID signal the process and its group, and a hard exit then
// would leave a replay's progress uncommitted.
const signalEcho = time.Second

// signalContext is cancelled by the first SIGINT or SIGTERM, which starts
// the drain; a second one of either kind, later than echo after the first,
// calls exit(exitInterrupted) at once, for the operator who will not wait.
// stop releases the signals.
func signalContext(echo time.Duration, exit func(code int)) (ctx context.Context, stop func()) {
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
		first := time.Now()
		for {
			select {
			case sig := <-ch:
				if time.Since(first) < echo {
					continue
				}
				fmt.Fprintf(os.Stderr, "relay: second %v: exiting without draining\n", sig)
				exit(exitInterrupted)
				return
			case <-stopped:
				return
			}
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
// loads that file, returning it with its routes compiled.
func loadConfig(name string, args []string, stderr io.Writer) (*config.Config, *mapper.Mapper, string, error) {
	return loadConfigFlags(newFlags(name, stderr), args)
}

// loadConfigFlags adds --config to fs, parses args and loads that file.
func loadConfigFlags(fs *flag.FlagSet, args []string) (*config.Config, *mapper.Mapper, string, error) {
	path := fs.String("config", "", "configuration file (required)")
	if err := parse(fs, args); err != nil {
		return nil, nil, "", err
	}
	if *path == "" {
		fmt.Fprintf(fs.Output(), "%s: --config is required\n", fs.Name())
		return nil, nil, "", errUsage
	}
	cfg, m, err := compiled(config.Load(*path))
	return cfg, m, *path, err
}

// compiled returns cfg and its routes once they compile: config.Load
// checks the file, and mapper.New checks the routes against the API's
// models. Every command so refuses a bad rule before it starts anything,
// naming its file, line and key; relay run hands the routes to the
// pipeline rather than compiling them twice.
func compiled(cfg *config.Config, err error) (*config.Config, *mapper.Mapper, error) {
	if err != nil {
		return nil, nil, err
	}
	m, err := mapper.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, m, nil
}

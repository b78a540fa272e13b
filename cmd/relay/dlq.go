package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/replay"
)

// dlqUsage takes the reasons, the summary's dimensions and the default
// --max-replays from their homes, so that it cannot fall behind them.
var dlqUsage = fmt.Sprintf(`relay dlq reads the dead-letter topic of a configuration, to find out what
failed and why, check a fix, and replay.

Usage:
  relay dlq summary --config FILE [FILTERS] [--by %s] [--output text|json]
  relay dlq inspect --config FILE [FILTERS] [--output text|json]
  relay dlq test    --config FIXED [FILTERS] [-v]
  relay dlq replay  --config FIXED [FILTERS] [--to optikpi|source] [--dry-run] [--rate R] [--max N]
                    [--max-replays %d] [--include-superseded] [--run-id ID] [-v]

Filters (every command; repeat a flag or separate values with commas for "any of"):
  --reason R          %s
  --topic T           the original topic
  --route R           R/OUTPUT for one output of a fan-out route
  --endpoint /events/deposit   --status 400
  --since T --until T failure time: RFC 3339 (2026-11-29T03:00:00Z) or an age (90m, 2h, 7d)
  --error-match RE    regular expression on the error and the API's error body
  --event-id ID       --source TOPIC/PARTITION/OFFSET
  --limit N           at most N dead letters after filtering (test and replay: after
                      collapsing duplicates too)

Run "relay dlq COMMAND --help" for a command's flags.
`, strings.Join(summaryDims, ","), replay.DefaultMaxReplays, failure.List())

func cmdDLQ(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, dlqUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "summary":
		return cmdDLQSummary(ctx, rest, stdout, stderr)
	case "inspect":
		return cmdDLQInspect(ctx, rest, stdout, stderr)
	case "test":
		return cmdDLQTest(ctx, rest, stdout, stderr)
	case "replay":
		return cmdDLQReplay(ctx, rest, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "relay dlq: unknown command %q\n\n%s", cmd, dlqUsage)
		return errUsage
	}
}

// dlqFlags are the flags every dlq command shares: the configuration and
// the filter.
type dlqFlags struct {
	config                   string
	reasons, topics, routes  listFlag
	endpoints, statuses      listFlag
	eventIDs, sources        listFlag
	since, until, errorMatch string
	limit                    int
}

func (f *dlqFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "configuration file (required): its kafka and dlq sections say what to read")
	fs.Var(&f.reasons, "reason", "select these reasons")
	fs.Var(&f.topics, "topic", "select records from these original topics")
	fs.Var(&f.routes, "route", "select these routes")
	fs.Var(&f.endpoints, "endpoint", "select these endpoints, such as /events/deposit")
	fs.Var(&f.statuses, "status", "select these HTTP statuses")
	fs.StringVar(&f.since, "since", "", "select failures at or after this time (RFC 3339) or age (2h)")
	fs.StringVar(&f.until, "until", "", "select failures before this time (RFC 3339) or age (2h)")
	fs.StringVar(&f.errorMatch, "error-match", "", "select errors (message or API body) matching this regular expression")
	fs.Var(&f.eventIDs, "event-id", "select these event ids")
	fs.Var(&f.sources, "source", "select these original records, TOPIC/PARTITION/OFFSET")
	fs.IntVar(&f.limit, "limit", 0, "at most this many dead letters; 0 for all")
}

// load checks the flags and loads the configuration. Every flag problem
// is reported at once on stderr, naming its flag, and gives errUsage.
func (f *dlqFlags) load(now time.Time, stderr io.Writer) (*config.Config, dlq.Filter, error) {
	var probs []string
	bad := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	filter := dlq.Filter{
		Topics:        f.topics,
		Routes:        f.routes,
		Endpoints:     f.endpoints,
		EventIDs:      f.eventIDs,
		DeriveEventID: mapper.DerivedEventID,
	}
	for _, r := range f.reasons {
		reason, err := failure.Parse(r)
		if err != nil {
			bad("--reason: %v", err)
		}
		filter.Reasons = append(filter.Reasons, reason)
	}
	for _, s := range f.statuses {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 999 {
			bad("--status: %q is not an HTTP status", s)
		}
		filter.Statuses = append(filter.Statuses, n)
	}
	for _, s := range f.sources {
		k, err := dlq.ParseSourceKey(s)
		if err != nil {
			bad("--source: %v", err)
		}
		filter.Sources = append(filter.Sources, k)
	}
	var err error
	if filter.Since, err = parseWhen(f.since, now); err != nil {
		bad("--since: %v", err)
	}
	if filter.Until, err = parseWhen(f.until, now); err != nil {
		bad("--until: %v", err)
	}
	if f.errorMatch != "" {
		if filter.ErrorMatch, err = regexp.Compile(f.errorMatch); err != nil {
			bad("--error-match: %v", err)
		}
	}
	if f.limit < 0 {
		bad("--limit: must not be negative")
	}
	if f.config == "" {
		bad("--config is required")
	}
	if len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintf(stderr, "relay dlq: %s\n", p)
		}
		return nil, filter, errUsage
	}
	cfg, _, err := compiled(config.Load(f.config))
	if err == nil {
		// Every dlq command reads Kafka; replay --to optikpi also checks
		// the destinations' (cmdDLQReplay).
		err = cfg.CheckKafkaSecrets()
	}
	return cfg, filter, err
}

// parseWhen reads an RFC 3339 time or an age before now ("90m", "2h",
// "7d"); "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor an age such as 90m, 2h or 7d", s)
	}
	return now.Add(-d), nil
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"
	"golang.org/x/term"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/replay"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

func cmdDLQTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq test", stderr)
	var f dlqFlags
	f.register(fs)
	verbose := fs.Bool("v", false, "print the Optikpi record each dead letter would become")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, filter, err := f.load(time.Now(), stderr)
	if err != nil {
		return err
	}
	kopts, err := pipeline.KafkaOpts(cfg.Kafka, replayLogger())
	if err != nil {
		return err
	}
	sel, err := replay.Select(ctx, kopts, cfg.DLQ.Topic, filter, f.limit)
	if err != nil {
		return err
	}
	sum, err := replay.Test(cfg, sel, func(r replay.Result) { printResult(stdout, r, *verbose) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d selected (%d duplicates collapsed): %d would deliver, %d would fail again%s, %d skipped by the configuration",
		sum.Selected, sum.Duplicates, sum.Counts[replay.WouldDeliver], sum.Failures(), byReason(sum.Failed), sum.Counts[replay.Skipped])
	if n := sum.Counts[replay.Unreadable]; n > 0 {
		fmt.Fprintf(stdout, ", %d unreadable", n)
	}
	fmt.Fprintln(stdout)
	if sum.Failures() > 0 {
		// Exit 1, so that a script can gate a replay on the test.
		return fmt.Errorf("dlq test: %d of %d records would fail again", sum.Failures(), sum.Selected)
	}
	return nil
}

func cmdDLQReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq replay", stderr)
	var f dlqFlags
	f.register(fs)
	to := fs.String("to", string(replay.ToOptikpi), "optikpi: map and deliver as the relay does; source: republish to the original topic and partition")
	dryRun := fs.Bool("dry-run", false, "select, collapse and map, print what would be sent; send and commit nothing")
	rateFlag := fs.Float64("rate", 0, "at most this many records per second; 0 for no bound")
	maxN := fs.Int("max", 0, "send at most this many records in this run; 0 for all (the rest stays for the next run)")
	maxReplays := fs.Int("max-replays", replay.DefaultMaxReplays, "report, and do not send, records that failed this many replays (exit status 1 when there are any)")
	includeSuperseded := fs.Bool("include-superseded", false, "replay customer and extended-attribute records even when a newer record of the same key exists")
	runID := fs.String("run-id", "", "name of the run, whose progress is kept, for these filters and --to only (default: a hash of the dead-letter topic, the filters and --to)")
	verbose := fs.Bool("v", false, "print each record's outcome (and with --dry-run its Optikpi record)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, filter, err := f.load(time.Now(), stderr)
	if err != nil {
		return err
	}
	target := replay.Target(*to)
	if target != replay.ToOptikpi && target != replay.ToSource {
		fmt.Fprintf(stderr, "relay dlq replay: --to: %q: want optikpi or source\n", *to)
		return errUsage
	}
	if *rateFlag < 0 || *maxN < 0 || *maxReplays < 1 {
		fmt.Fprintln(stderr, "relay dlq replay: --rate and --max must not be negative, --max-replays must be at least 1")
		return errUsage
	}
	if target == replay.ToOptikpi && !*dryRun {
		if err := cfg.CheckSecrets(); err != nil {
			return err
		}
	}
	selection := selectionID(cfg.DLQ.Topic, &f, target)
	id := *runID
	if id == "" {
		id = selection
	}
	logger := replayLogger()
	if target == replay.ToSource && !*dryRun {
		warnSourceReplay(ctx, cfg, &f, logger, stderr)
	}
	o := replay.Options{
		Filter:            filter,
		Limit:             f.limit,
		To:                target,
		RunID:             id,
		Selection:         selection,
		DryRun:            *dryRun,
		Rate:              *rateFlag,
		Max:               *maxN,
		MaxReplays:        *maxReplays,
		IncludeSuperseded: *includeSuperseded,
		Pipeline:          pipeline.Options{Logger: logger},
	}
	fmt.Fprintf(stderr, "relay dlq replay: run %s, progress in consumer group %s\n", id, replay.Group(cfg.Kafka.Group, id))
	o.OnResult = func(r replay.Result) {
		// Always print what needs a person: failures, rules, dry runs.
		switch r.Outcome {
		case replay.Delivered, replay.Republished, replay.AlreadyReplayed:
			if !*verbose && !r.NoKey {
				return
			}
		}
		printResult(stdout, r, *verbose && *dryRun)
	}
	if !*dryRun {
		o.OnProgress = newProgress(stderr)
	}
	sum, err := replay.Replay(ctx, cfg, o)
	printSummary(stdout, &sum, *dryRun, target)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("dlq replay interrupted: what was sent is committed in %s; run the same command again to continue (%w)", sum.Group, err)
	}
	if err != nil {
		return err
	}
	switch {
	case sum.Failures() > 0 && *dryRun:
		return fmt.Errorf("dlq replay: %d records would fail again", sum.Failures())
	case sum.Failures() > 0:
		return fmt.Errorf("dlq replay: %d records failed again (written back to %s with their replay count)", sum.Failures(), cfg.DLQ.Topic)
	case sum.Counts[replay.OverMaxReplays] > 0:
		// Not sent, and no later run sends them either: they need a
		// person, so a script must not take this run for a clean one.
		return fmt.Errorf("dlq replay: %d records are over --max-replays %d and were not sent; see them with relay dlq inspect, then name them with --source and a higher --max-replays, or a new --run-id", sum.Counts[replay.OverMaxReplays], *maxReplays)
	}
	return nil
}

// selectionID is a short hash of what selects and where to: the default
// run id, so that the same command gets the same run and resumes (--run-id
// runs it again), and what a run's progress is kept for.
func selectionID(topic string, f *dlqFlags, to replay.Target) string {
	norm := func(l listFlag) string {
		s := slices.Clone([]string(l))
		slices.Sort(s)
		return strings.Join(slices.Compact(s), ",")
	}
	parts := []string{
		topic, string(to),
		norm(f.reasons), norm(f.topics), norm(f.routes), norm(f.endpoints), norm(f.statuses),
		norm(f.eventIDs), norm(f.sources), f.since, f.until, f.errorMatch,
		// Not --limit: the progress stops at the first letter a limit
		// left out, so "--limit 5, then all" is one run, each sent once.
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:5])
}

// warnSourceReplay says, before anything is republished, who else will
// see the records again.
func warnSourceReplay(ctx context.Context, cfg *config.Config, f *dlqFlags, logger *zap.Logger, stderr io.Writer) {
	// The topics the filter names, else every topic the relay reads.
	topics := slices.Clone([]string(f.topics))
	for _, src := range f.sources {
		if k, err := dlq.ParseSourceKey(src); err == nil && !slices.Contains(topics, k.Topic) {
			topics = append(topics, k.Topic)
		}
	}
	if len(topics) == 0 {
		topics = cfg.Kafka.Topics
	}
	fmt.Fprintln(stderr, "relay dlq replay: WARNING: --to source republishes to the original topics: every consumer group of those topics sees the records again, not only this relay.")
	kopts, err := pipeline.KafkaOpts(cfg.Kafka, logger)
	if err != nil || len(topics) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	groups, err := replay.ConsumerGroups(cctx, kopts, topics)
	if err != nil {
		fmt.Fprintf(stderr, "relay dlq replay: could not list the consumer groups: %v\n", err)
		return
	}
	for _, t := range topics {
		if gs := groups[t]; len(gs) > 0 {
			fmt.Fprintf(stderr, "relay dlq replay:   %s is read by: %s\n", t, strings.Join(gs, ", "))
		}
	}
}

func printResult(w io.Writer, r replay.Result, withRecord bool) {
	l := r.Letter
	where := "dlq offset ?"
	src := "?"
	if l != nil {
		where = fmt.Sprintf("dlq %d/%d", l.Partition, l.Offset)
		if l.Err == nil {
			src = l.Key().String()
		}
	}
	dups := ""
	if r.Duplicates > 0 {
		dups = fmt.Sprintf(" (+%d duplicates)", r.Duplicates)
	}
	switch r.Outcome {
	case replay.WouldDeliver, replay.Delivered, replay.WouldRepublish, replay.Republished:
		fmt.Fprintf(w, "%s %s%s: %s", src, where, dups, r.Outcome)
		if r.Route != "" {
			fmt.Fprintf(w, ": route %s -> %s %s", r.Route, r.Destination, r.Endpoint)
		}
		if len(r.Outputs) > 0 {
			fmt.Fprintf(w, ", outputs %s", strings.Join(r.Outputs, ","))
		}
		if r.EventID != "" { // state records have none
			fmt.Fprintf(w, ", event_id %s", r.EventID)
		}
		if r.NoKey {
			fmt.Fprint(w, " (no Kafka key: not checked for a newer profile)")
		}
		fmt.Fprintln(w)
		if withRecord && len(r.Record) > 0 {
			fmt.Fprintf(w, "  %s\n", r.Record)
		}
	case replay.WouldFail, replay.FailedAgain:
		fmt.Fprintf(w, "%s %s%s: %s: %s", src, where, dups, r.Outcome, r.Reason)
		if r.Route != "" {
			fmt.Fprintf(w, ", route %s", r.Route)
		}
		if len(r.Outputs) > 0 {
			fmt.Fprintf(w, ", outputs %s", strings.Join(r.Outputs, ","))
		}
		if r.Field != "" {
			fmt.Fprintf(w, ", field %s", r.Field)
		}
		fmt.Fprintf(w, ": %s\n", r.Message)
	case replay.Superseded:
		fmt.Fprintf(w, "%s %s%s: superseded by offset %d (same key, newer %s record); to send it anyway: --source %s --include-superseded\n",
			src, where, dups, r.SupersededBy, strings.TrimPrefix(r.Endpoint, "/"), src)
	case replay.Skipped:
		fmt.Fprintf(w, "%s %s%s: skipped by the configuration (route %q)\n", src, where, dups, r.Route)
	default:
		fmt.Fprintf(w, "%s %s%s: %s", src, where, dups, r.Outcome)
		if r.Message != "" {
			fmt.Fprintf(w, ": %s", r.Message)
		}
		fmt.Fprintln(w)
	}
}

func printSummary(w io.Writer, s *replay.Summary, dryRun bool, to replay.Target) {
	fmt.Fprintf(w, "\nrun %s (group %s)\n", s.RunID, s.Group)
	line := func(name string, n int) { fmt.Fprintf(w, "  %-22s %d\n", name, n) }
	line("selected", s.Selected)
	line("duplicates", s.Duplicates)
	if n := s.Counts[replay.AlreadyReplayed]; n > 0 {
		// After a second fix of what failed again, the same command sends
		// nothing: say how to send it anyway.
		fmt.Fprintf(w, "  %-22s %d (by this run; --run-id NEW replays them again)\n", "already replayed", n)
	} else {
		line("already replayed", 0)
	}
	line("superseded", s.Counts[replay.Superseded])
	line("over max replays", s.Counts[replay.OverMaxReplays])
	line("skipped by config", s.Counts[replay.Skipped])
	if dryRun {
		if to == replay.ToSource {
			line("would republish", s.Counts[replay.WouldRepublish])
		} else {
			line("would deliver", s.Counts[replay.WouldDeliver])
		}
		fmt.Fprintf(w, "  %-22s %d%s\n", "would fail again", s.Failures(), byReason(s.Failed))
	} else {
		if to == replay.ToSource {
			line("republished", s.Counts[replay.Republished])
		} else {
			line("delivered", s.Counts[replay.Delivered])
		}
		fmt.Fprintf(w, "  %-22s %d%s\n", "failed again", s.Failures(), byReason(s.Failed))
	}
	if s.NoKey > 0 {
		line("state without key", s.NoKey)
	}
	if n := s.Counts[replay.Unreadable]; n > 0 {
		line("unreadable", n)
	}
	if s.NotSent > 0 && !dryRun {
		fmt.Fprintf(w, "  %-22s %d (run the same command again to continue)\n", "left for the next run", s.NotSent)
	}
}

// byReason formats counts by reason as " (invalid 3, rejected 1)".
func byReason(m map[failure.Reason]int) string {
	var parts []string
	for _, r := range failure.Reasons() {
		if n := m[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r, n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// newProgress shows a bar with rate and ETA on a terminal, and otherwise a
// plain line every progressEvery (and at the end), for logs.
func newProgress(stderr io.Writer) func(finished, total int) {
	const progressEvery = 5 * time.Second
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(finished, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total,
					progressbar.OptionSetWriter(stderr),
					progressbar.OptionSetDescription("replaying"),
					progressbar.OptionShowCount(),
					progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("records"),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			}
			_ = bar.Set(finished)
		}
	}
	start := time.Now()
	last := start
	return func(finished, total int) {
		now := time.Now()
		if now.Sub(last) < progressEvery && finished != total {
			return
		}
		last = now
		r := float64(finished) / max(now.Sub(start).Seconds(), 1e-3)
		eta := (time.Duration(float64(total-finished)/r) * time.Second).Round(time.Second)
		fmt.Fprintf(stderr, "relay dlq replay: %d/%d records, %.0f/s, eta %s\n", finished, total, r, eta)
	}
}

// replayLogger logs the Kafka clients' and the sink's warnings (a refused
// token, an unreachable broker) to stderr, where on-call sees them.
func replayLogger() *zap.Logger {
	l, err := telemetry.NewLogger("warn", "console")
	if err != nil {
		return zap.NewNop()
	}
	return l
}

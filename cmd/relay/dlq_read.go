package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// The dimensions of relay dlq summary, in their default order.
var summaryDims = []string{"reason", "topic", "route", "endpoint", "status", "hour"}

// errLimitReached stops dlq.Read once --limit letters are selected.
var errLimitReached = errors.New("limit reached")

// readSelected calls fn with every letter of cfg's dead-letter topic that
// filter selects, at most limit of them (0: all), and returns how many
// letters it read in all and whether it stopped at the limit.
func readSelected(ctx context.Context, cfg *config.Config, filter *dlq.Filter, limit int, stderr io.Writer, fn func(*dlq.Letter) error) (read int, limited bool, err error) {
	// Kafka's own warnings (a broker that cannot be reached) go to stderr
	// as lines a person reads.
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()), zapcore.AddSync(stderr), zap.WarnLevel))
	opts, err := pipeline.KafkaOpts(cfg.Kafka, logger)
	if err != nil {
		return 0, false, err
	}
	selected := 0
	_, err = dlq.Read(ctx, opts, cfg.DLQ.Topic, func(l *dlq.Letter) error {
		read++
		if !filter.Match(l) {
			return nil
		}
		if err := fn(l); err != nil {
			return err
		}
		if selected++; limit > 0 && selected >= limit {
			return errLimitReached
		}
		return nil
	})
	if errors.Is(err, errLimitReached) {
		return read, true, nil
	}
	return read, false, err
}

// outputFlag checks --output; "table" is accepted for text.
func outputFlag(cmd, v string, stderr io.Writer) (jsonOut bool, err error) {
	switch v {
	case "text", "table":
		return false, nil
	case "json":
		return true, nil
	}
	fmt.Fprintf(stderr, "relay dlq %s: --output: %q is neither text nor json\n", cmd, v)
	return false, errUsage
}

// count is one value of a summary dimension and how many letters have it.
type count struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// dlqSummary is what relay dlq summary prints.
type dlqSummary struct {
	Topic      string `json:"topic"`
	Read       int    `json:"read"`     // every record of the topic read
	Limited    bool   `json:"limited"`  // reading stopped at --limit
	Selected   int    `json:"selected"` // those the filters selected, unreadable ones included
	Unreadable int    `json:"unreadable"`
	// Duplicates counts the entries whose source record an earlier entry
	// already had; Sources the distinct source records.
	Duplicates int                `json:"duplicates"`
	Sources    int                `json:"distinct_sources"`
	Replayed   int                `json:"replayed"` // entries a replay wrote back (replays > 0)
	Oldest     string             `json:"oldest_failure,omitempty"`
	Newest     string             `json:"newest_failure,omitempty"`
	By         map[string][]count `json:"by"`

	dims              []string
	counts            map[string]map[string]int
	oldest, newest    time.Time
	seen              map[dlq.SourceKey]bool
	unreadableExample string
}

func newDLQSummary(topic string, dims []string) *dlqSummary {
	s := &dlqSummary{Topic: topic, dims: dims, counts: map[string]map[string]int{}, seen: map[dlq.SourceKey]bool{}}
	for _, d := range dims {
		s.counts[d] = map[string]int{}
	}
	return s
}

func (s *dlqSummary) add(l *dlq.Letter) {
	s.Selected++
	if l.Err != nil {
		s.Unreadable++
		if s.unreadableExample == "" {
			s.unreadableExample = fmt.Sprintf("partition %d offset %d: %v", l.Partition, l.Offset, l.Err)
		}
		return
	}
	if k := l.Key(); s.seen[k] {
		s.Duplicates++
	} else {
		s.seen[k] = true
	}
	if l.Replays > 0 {
		s.Replayed++
	}
	if t := l.FailedAt; !t.IsZero() {
		if s.oldest.IsZero() || t.Before(s.oldest) {
			s.oldest = t
		}
		if t.After(s.newest) {
			s.newest = t
		}
	}
	for _, d := range s.dims {
		s.counts[d][dimValue(d, l)]++
	}
}

func dimValue(dim string, l *dlq.Letter) string {
	orNone := func(s string) string {
		if s == "" {
			return "(none)"
		}
		return s
	}
	switch dim {
	case "reason":
		return orNone(string(l.Reason))
	case "topic":
		return orNone(l.Source.Topic)
	case "route":
		if l.Output != "" { // as --route selects it
			return l.Route + "/" + l.Output
		}
		return orNone(l.Route)
	case "endpoint":
		return orNone(l.Endpoint)
	case "status":
		if l.Status == 0 {
			return "(none)"
		}
		return strconv.Itoa(l.Status)
	case "hour":
		if l.FailedAt.IsZero() {
			return "(none)"
		}
		return l.FailedAt.UTC().Truncate(time.Hour).Format("2006-01-02T15:04Z")
	}
	return ""
}

// finish sorts the counts: by count, most first, then by value; hours in
// time order, which is how an outage is read.
func (s *dlqSummary) finish() {
	s.Sources = len(s.seen)
	if !s.oldest.IsZero() {
		s.Oldest, s.Newest = s.oldest.UTC().Format(time.RFC3339Nano), s.newest.UTC().Format(time.RFC3339Nano)
	}
	s.By = map[string][]count{}
	for _, d := range s.dims {
		cs := []count{}
		for v, n := range s.counts[d] {
			cs = append(cs, count{v, n})
		}
		slices.SortFunc(cs, func(a, b count) int {
			if d != "hour" && a.Count != b.Count {
				return b.Count - a.Count
			}
			return strings.Compare(a.Value, b.Value)
		})
		s.By[d] = cs
	}
}

func (s *dlqSummary) writeText(w io.Writer) {
	fmt.Fprintf(w, "%s: %d dead letters read, %d selected%s\n", s.Topic, s.Read, s.Selected, limitNote(s.Limited))
	if s.Selected == 0 {
		return
	}
	if s.Oldest != "" {
		fmt.Fprintf(w, "  failures:   %s to %s\n", s.Oldest, s.Newest)
	}
	fmt.Fprintf(w, "  duplicates: %d (entries whose source record an earlier entry has; %d distinct source records)\n", s.Duplicates, s.Sources)
	fmt.Fprintf(w, "  replayed:   %d (written back by a replay that failed again)\n", s.Replayed)
	fmt.Fprintf(w, "  unreadable: %d", s.Unreadable)
	if s.Unreadable > 0 {
		fmt.Fprintf(w, " (first at %s; see relay dlq inspect)", s.unreadableExample)
	}
	fmt.Fprintln(w)
	for _, d := range s.dims {
		cs := s.By[d]
		width := len(d)
		for _, c := range cs {
			width = max(width, utf8.RuneCountInString(c.Value))
		}
		fmt.Fprintf(w, "\n%-*s  %7s  %6s\n", width, d, "count", "share")
		for _, c := range cs {
			pad := width - utf8.RuneCountInString(c.Value) + len(c.Value)
			fmt.Fprintf(w, "%-*s  %7d  %5.1f%%\n", pad, c.Value, c.Count, 100*float64(c.Count)/float64(s.Selected-s.Unreadable))
		}
	}
}

func cmdDLQSummary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq summary", stderr)
	var f dlqFlags
	f.register(fs)
	var by listFlag
	fs.Var(&by, "by", "count by these: "+strings.Join(summaryDims, ",")+" (default all)")
	output := fs.String("output", "text", "text or json (one JSON document)")
	if err := parse(fs, args); err != nil {
		return err
	}
	jsonOut, err := outputFlag("summary", *output, stderr)
	if err != nil {
		return err
	}
	dims := summaryDims
	if len(by) > 0 {
		dims = nil
	}
	for _, d := range by {
		if !slices.Contains(summaryDims, d) {
			fmt.Fprintf(stderr, "relay dlq summary: --by: unknown %q (one of %s)\n", d, strings.Join(summaryDims, ", "))
			return errUsage
		}
		if !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}
	cfg, filter, err := f.load(time.Now(), stderr)
	if err != nil {
		return err
	}
	s := newDLQSummary(cfg.DLQ.Topic, dims)
	s.Read, s.Limited, err = readSelected(ctx, cfg, &filter, f.limit, stderr, func(l *dlq.Letter) error {
		s.add(l)
		return nil
	})
	if err != nil {
		return err
	}
	s.finish()
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	s.writeText(stdout)
	return nil
}

func cmdDLQInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dlq inspect", stderr)
	var f dlqFlags
	f.register(fs)
	output := fs.String("output", "text", "text (a block per dead letter) or json (one JSON object per line, as relay map test reads)")
	if err := parse(fs, args); err != nil {
		return err
	}
	jsonOut, err := outputFlag("inspect", *output, stderr)
	if err != nil {
		return err
	}
	cfg, filter, err := f.load(time.Now(), stderr)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	first := map[dlq.SourceKey]letterPlace{}
	var buf []byte
	shown := 0
	read, limited, err := readSelected(ctx, cfg, &filter, f.limit, stderr, func(l *dlq.Letter) error {
		shown++
		if jsonOut {
			buf = dlq.AppendJSON(buf[:0], l)
			_, err := w.Write(buf)
			return err
		}
		var dupOf *letterPlace
		if l.Err == nil {
			if p, ok := first[l.Key()]; ok {
				dupOf = &p
			} else {
				first[l.Key()] = letterPlace{l.Partition, l.Offset}
			}
		}
		writeLetter(w, cfg.DLQ.Topic, l, dupOf)
		// Stop reading once stdout is gone (the pager quit).
		_, err := w.Write(nil)
		return err
	})
	if err != nil {
		return err
	}
	if !jsonOut {
		fmt.Fprintf(w, "%d dead letters shown, %d read%s\n", shown, read, limitNote(limited))
	}
	return w.Flush()
}

// letterPlace is where a dead letter is in the dead-letter topic.
type letterPlace struct {
	Partition int32
	Offset    int64
}

// writeLetter writes one block of relay dlq inspect; dupOf is where the
// first letter of the same source record is, nil if this is the first.
func writeLetter(w io.Writer, topic string, l *dlq.Letter, dupOf *letterPlace) {
	fmt.Fprintf(w, "=== %s partition %d offset %d, written %s\n", topic, l.Partition, l.Offset, l.Timestamp.UTC().Format(time.RFC3339Nano))
	line := func(name, format string, a ...any) {
		fmt.Fprintf(w, "%-12s %s\n", name+":", fmt.Sprintf(format, a...))
	}
	if l.Err != nil {
		line("UNREADABLE", "%v", l.Err)
		if r := l.Record; r != nil {
			line("key", "%s", quoteBytes(r.Key))
			writeHeaders(w, "headers", r.Headers)
			writeBlock(w, "value", r.Value)
		}
		fmt.Fprintln(w)
		return
	}
	if dupOf != nil {
		fmt.Fprintf(w, "(duplicate of the same source record: first at partition %d offset %d)\n", dupOf.Partition, dupOf.Offset)
	}
	line("reason", "%s", l.Reason)
	line("error", "%s", l.Message)
	if l.Route != "" || l.Destination != "" {
		line("route", "%s (destination %s)", orDash(l.Route), orDash(l.Destination))
	}
	if l.Output != "" {
		line("output", "%s", l.Output)
	}
	if l.Endpoint != "" {
		line("endpoint", "%s", l.Endpoint)
	}
	if l.Status != 0 {
		line("status", "%d", l.Status)
	}
	line("attempts", "%d", l.Attempts)
	line("failed at", "%s", l.FailedAt.UTC().Format(time.RFC3339Nano))
	if l.EventID != "" {
		line("event id", "%s", l.EventID)
	}
	if l.Replays > 0 || l.ReplayRun != "" {
		line("replays", "%d (run %s)", l.Replays, orDash(l.ReplayRun))
	}
	src := l.Source
	line("source", "%s (topic/partition/offset), at %s", l.Key(), src.Timestamp.UTC().Format(time.RFC3339Nano))
	line("key", "%s", quoteBytes(src.Key))
	writeHeaders(w, "headers", src.Headers)
	if len(l.APIError) > 0 {
		writeBlock(w, "api error", l.APIError)
	}
	writeBlock(w, "value", src.Value)
	if l.Version != "" {
		line("relay", "%s", l.Version)
	}
	fmt.Fprintln(w)
}

func limitNote(limited bool) string {
	if limited {
		return " (stopped at --limit)"
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeHeaders(w io.Writer, name string, hs []kgo.RecordHeader) {
	if len(hs) == 0 {
		fmt.Fprintf(w, "%-12s (none)\n", name+":")
		return
	}
	fmt.Fprintf(w, "%s:\n", name)
	for _, h := range hs {
		fmt.Fprintf(w, "  %s: %s\n", strconv.Quote(h.Key), quoteBytes(h.Value))
	}
}

// writeBlock writes b indented below name: JSON pretty-printed, anything
// else quoted (so spaces, control and non-UTF-8 bytes are visible).
func writeBlock(w io.Writer, name string, b []byte) {
	if b == nil {
		fmt.Fprintf(w, "%-12s null (a tombstone)\n", name+":")
		return
	}
	fmt.Fprintf(w, "%s:\n", name)
	var pretty bytes.Buffer
	if t := bytes.TrimSpace(b); len(t) > 0 && utf8.Valid(t) && json.Valid(t) && json.Indent(&pretty, t, "  ", "  ") == nil {
		fmt.Fprintf(w, "  %s\n", pretty.Bytes())
		return
	}
	fmt.Fprintf(w, "  %s\n", quoteBytes(b))
}

func quoteBytes(b []byte) string {
	if b == nil {
		return "null"
	}
	return strconv.Quote(string(b))
}

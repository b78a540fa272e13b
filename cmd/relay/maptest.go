package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/mapper"
)

func cmdMapTest(args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	fs := newFlags("map test", stderr)
	path := fs.String("config", "", "configuration file (required)")
	topic := fs.String("topic", "", "topic of bare value lines (required for them; a record line names its own)")
	file := fs.String("file", "", "file of JSON lines, one record per line (default: standard input)")
	input := fs.String("input", "auto", "what a line is: value (a bare value), record (a dead letter's JSON line, as\n"+
		"relay dlq inspect --output json prints, or a flat record {topic, partition, offset, timestamp,\n"+
		"key, headers, value}), or auto (a dead letter's line is a record, anything else a value)")
	output := fs.String("output", "text", "text (the record produced, indented, or the failure) or json (one result per line, as --expect reads)")
	expect := fs.String("expect", "", "file of the results expected, one JSON line each as --output json prints them;\n"+
		"every difference is reported and makes the exit status 1 (a golden test for CI)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *path == "" || *topic == "" && *input == "value" {
		fmt.Fprintln(stderr, "relay map test: --config is required, and --topic with --input value")
		return errUsage
	}
	if *input != "auto" && *input != "value" && *input != "record" {
		fmt.Fprintf(stderr, "relay map test: --input: %q is not auto, value or record\n", *input)
		return errUsage
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "relay map test: --output: %q is not text or json\n", *output)
		return errUsage
	}
	var want []mapper.TestResult
	if *expect != "" {
		if want, err = readExpected(*expect); err != nil {
			fmt.Fprintf(stderr, "relay map test: --expect: %v\n", err)
			return errUsage
		}
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
	next := mapTestInputs(in, *input, *topic)
	var n mapper.TestCounts
	switch {
	case *expect != "":
		var got []mapper.TestResult
		if n, err = mapper.MapTestResults(m, next, func(r mapper.TestResult) error {
			got = append(got, r)
			return nil
		}); err != nil {
			return err
		}
		if diffs := diffResults(stdout, got, want); diffs > 0 {
			return fmt.Errorf("map test: %d of %d results differ from %s", diffs, max(len(got), len(want)), *expect)
		}
		fmt.Fprintf(stdout, "%d results as expected (%v)\n", len(got), n)
		return nil
	case *output == "json":
		enc := json.NewEncoder(stdout)
		if n, err = mapper.MapTestResults(m, next, func(r mapper.TestResult) error { return enc.Encode(r) }); err != nil {
			return err
		}
	default:
		if n, err = mapper.MapTest(m, next, stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout, n)
	}
	if n.Failed > 0 {
		// Non-zero, so a mapping change can be checked in CI like a test.
		return fmt.Errorf("map test: %d of %d records failed", n.Failed, n.Total())
	}
	return nil
}

// mapTestInputs reads the lines of in as mode says: a record line is
// mapped as the record it describes, labelled with its coordinates; a
// value line as mapper.ValueRecord makes it.
func mapTestInputs(in io.Reader, mode, topic string) func() (mapper.TestInput, error) {
	var isRecord bool
	next := mapper.LineInputs(in, func(line []byte, n int64) (*kgo.Record, error) {
		isRecord = mode == "record" || mode == "auto" && dlq.IsLetterJSON(line)
		if isRecord {
			r, err := dlq.DecodeRecord(line)
			if err == nil && r.Topic == "" {
				r.Topic = topic
			}
			return r, err
		}
		if topic == "" {
			return nil, errors.New("a bare value needs --topic (or is this line meant as a record? see --input)")
		}
		return mapper.ValueRecord(topic, line, n), nil
	})
	return func() (mapper.TestInput, error) {
		in, err := next()
		if err == nil && isRecord && in.Record != nil {
			in.Label += " (" + dlq.SourceKey{Topic: in.Record.Topic, Partition: in.Record.Partition, Offset: in.Record.Offset}.String() + ")"
		}
		return in, err
	}
}

// readExpected reads the results of an --expect file, one JSON object per
// line; blank lines are skipped.
func readExpected(path string) ([]mapper.TestResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mapper.TestResult
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields() // a misspelt key would otherwise expect nothing
	for {
		var r mapper.TestResult
		if err := dec.Decode(&r); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: result %d: %w", path, len(out)+1, err)
		}
		out = append(out, r)
	}
}

// diffResults writes each result of got that differs from want's at the
// same place, records compared as JSON (key order and spacing do not
// matter; numbers are compared as written, 12 against 12.0 differing, for
// that is the text Optikpi receives), and returns how many differ.
func diffResults(w io.Writer, got, want []mapper.TestResult) int {
	diffs := 0
	for i := range max(len(got), len(want)) {
		var g, e []byte
		if i < len(got) {
			g = canonicalResult(got[i])
		}
		if i < len(want) {
			e = canonicalResult(want[i])
		}
		if bytes.Equal(g, e) {
			continue
		}
		diffs++
		switch {
		case g == nil:
			fmt.Fprintf(w, "result %d: missing\n  want %s\n", i+1, e)
		case e == nil:
			fmt.Fprintf(w, "result %d: not expected\n  got  %s\n", i+1, g)
		default:
			fmt.Fprintf(w, "result %d (%s):\n  got  %s\n  want %s\n", i+1, got[i].Input, g, e)
		}
	}
	return diffs
}

// canonicalResult is r as JSON with its record's keys sorted, so that two
// results that mean the same compare equal.
func canonicalResult(r mapper.TestResult) []byte {
	if len(r.Record) > 0 {
		var v any
		dec := json.NewDecoder(bytes.NewReader(r.Record))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			r.Record, _ = json.Marshal(v) // maps marshal with sorted keys
		}
	}
	b, _ := json.Marshal(r)
	return b
}

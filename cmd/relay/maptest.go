package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/mapper"
)

func cmdMapTest(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("map test", stderr)
	path := fs.String("config", "", "configuration file (required)")
	topic := fs.String("topic", "", "topic of bare value lines (required for them; a record line names its own)")
	file := fs.String("file", "", "file of JSON lines, one record per line (default: standard input)")
	input := fs.String("input", "auto", "what a line is: value (a bare value), record (a dead letter's JSON line, as\n"+
		"relay dlq inspect --output json prints, or a flat record {topic, partition, offset, timestamp,\n"+
		"key, headers, value}), or auto (a dead letter's line is a record, anything else a value)")
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
	ok, failed, err := mapper.MapTest(m, mapTestInputs(in, *input, *topic), stdout)
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

package mapper

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxLine bounds one input line of RunMapTest; Kafka's default maximum
// message size is 1 MiB, so this is generous.
const maxLine = 16 << 20

// TestInput is one record for MapTest.
type TestInput struct {
	// Label names the input in the output, such as "line 3".
	Label string
	// Record is mapped as the relay maps a record from Kafka.
	Record *kgo.Record
	// Err, when set, is why the input could not be made a record; it is
	// reported as a failure of this input, and Record is ignored.
	Err error
}

// LineInputs returns the inputs of in, one per line, blank lines skipped;
// record makes the record of a line (trimmed; it may alias the line only
// until record returns) and its number, from 1. Next returns io.EOF at the
// end, or the error reading in.
func LineInputs(in io.Reader, record func(line []byte, n int64) (*kgo.Record, error)) (next func() (TestInput, error)) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := int64(0)
	return func() (TestInput, error) {
		for sc.Scan() {
			n++
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			rec, err := record(line, n)
			return TestInput{Label: fmt.Sprintf("line %d", n), Record: rec, Err: err}, nil
		}
		if err := sc.Err(); err != nil {
			return TestInput{}, fmt.Errorf("reading records: %w", err)
		}
		return TestInput{}, io.EOF
	}
}

// ValueRecord is the record RunMapTest makes of a line holding a bare
// value: on partition 0 at offset n, the line number, which is what a
// derived event_id is made from; no key, headers or timestamp.
func ValueRecord(topic string, value []byte, n int64) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: 0, Offset: n, Value: value}
}

// RunMapTest maps each line of in (one JSON value per line; blank lines
// are ignored) as a record of topic made by ValueRecord, and writes what
// MapTest writes.
func RunMapTest(m *Mapper, topic string, in io.Reader, out io.Writer) (ok, failed int, err error) {
	return MapTest(m, LineInputs(in, func(line []byte, n int64) (*kgo.Record, error) {
		return ValueRecord(topic, line, n), nil
	}), out)
}

// MapTest maps every input of next (until io.EOF) and writes to out, for
// each (each output of a fan-out), the route chosen and the Optikpi record
// produced (indented), or the failure and why. ok counts mapped and skipped
// records, failed the failures (a record any output of which failed) and
// the inputs that were not records; err is only an error of next other
// than io.EOF, or writing out.
func MapTest(m *Mapper, next func() (TestInput, error), out io.Writer) (ok, failed int, err error) {
	w := bufio.NewWriter(out)
	var pretty bytes.Buffer
	for {
		in, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			w.Flush()
			return ok, failed, err
		}
		label := in.Label
		if in.Err != nil {
			failed++
			fmt.Fprintf(w, "%s: FAILED not a record: %v\n", label, in.Err)
			continue
		}
		res, mapErr := m.Map(in.Record)
		switch {
		case mapErr != nil:
			failed++
			writeFailure(w, label, mapErr)
		case res.Skipped:
			ok++
			switch {
			case res.Route != "":
				fmt.Fprintf(w, "%s: skipped by route %s\n", label, res.Route)
			case in.Record.Value == nil:
				fmt.Fprintf(w, "%s: skipped (a tombstone; routing.tombstones is skip)\n", label)
			case checkObject(in.Record.Value) == msgEmpty:
				fmt.Fprintf(w, "%s: skipped (an empty value; routing.empty is skip)\n", label)
			default:
				fmt.Fprintf(w, "%s: skipped (no route matches; routing.unmatched is skip)\n", label)
			}
		default:
			// Each output of a fan-out on its own, as the relay sends them;
			// the record fails if one does.
			bad := false
			for i := range res.Len() {
				o := res.At(i)
				if o.Failure != nil {
					bad = true
					writeFailure(w, label, o.Failure)
					continue
				}
				route := res.Route
				if o.Name != "" {
					route += " output " + o.Name
				}
				fmt.Fprintf(w, "%s: route %s -> %s (%s) at destination %s\n",
					label, route, o.Record.Kind, o.Record.Kind.Endpoint(), o.Destination)
				pretty.Reset()
				if err := json.Indent(&pretty, o.Record.JSON, "", "  "); err != nil {
					pretty.Write(o.Record.JSON) // cannot happen: Encode writes valid JSON
				}
				pretty.WriteByte('\n')
				if _, err := w.Write(pretty.Bytes()); err != nil {
					return ok, failed, err
				}
			}
			if bad {
				failed++
			} else {
				ok++
			}
		}
	}
	return ok, failed, w.Flush()
}

// writeFailure writes why the input labelled label failed.
func writeFailure(w io.Writer, label string, err error) {
	var f *Failure
	if !errors.As(err, &f) {
		fmt.Fprintf(w, "%s: FAILED %v\n", label, err)
		return
	}
	fmt.Fprintf(w, "%s: FAILED %s\n", label, f.Reason)
	if f.Route != "" {
		fmt.Fprintf(w, "  route: %s\n", f.Route)
	}
	if f.Output != "" {
		fmt.Fprintf(w, "  output: %s\n", f.Output)
	}
	if f.Field != "" {
		fmt.Fprintf(w, "  field: %s\n", f.Field)
	}
	fmt.Fprintf(w, "  why:   %s\n", f.Message)
}

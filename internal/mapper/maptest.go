package mapper

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
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
func RunMapTest(m *Mapper, topic string, in io.Reader, out io.Writer) (TestCounts, error) {
	return MapTest(m, LineInputs(in, func(line []byte, n int64) (*kgo.Record, error) {
		return ValueRecord(topic, line, n), nil
	}), out)
}

// TestResult is what MapTest found for one input, or for one output of a
// fan-out: exactly one of Record, Skipped and Failed is set. Its JSON form
// is what relay map test --output json prints and --expect compares.
type TestResult struct {
	// Input is the input's label, such as "line 3".
	Input string `json:"input"`
	// Route and Output name what matched; Output only for a fan-out.
	Route  string `json:"route,omitempty"`
	Output string `json:"output,omitempty"`
	// Model, Destination and Record are the Optikpi record produced.
	Model       string          `json:"model,omitempty"`
	Destination string          `json:"destination,omitempty"`
	Record      json.RawMessage `json:"record,omitempty"`
	// Skipped says why the record was counted and dropped.
	Skipped string `json:"skipped,omitempty"`
	// Failed is the failure's reason; Field and Why say what and why.
	Failed string `json:"failed,omitempty"`
	Field  string `json:"field,omitempty"`
	Why    string `json:"why,omitempty"`

	kind optikpi.Kind // of Record
}

// MapTest maps every input of next (until io.EOF) and writes to out, for
// each (each output of a fan-out), the route chosen and the Optikpi record
// produced (indented), or the failure and why. err is only an error of
// next other than io.EOF, or writing out.
func MapTest(m *Mapper, next func() (TestInput, error), out io.Writer) (n TestCounts, err error) {
	w := bufio.NewWriter(out)
	var pretty bytes.Buffer
	n, err = MapTestResults(m, next, func(r TestResult) error {
		switch {
		case r.Failed != "":
			writeFailure(w, r)
		case r.Skipped != "":
			fmt.Fprintf(w, "%s: %s\n", r.Input, r.Skipped)
		default:
			route := r.Route
			if r.Output != "" {
				route += " output " + r.Output
			}
			fmt.Fprintf(w, "%s: route %s -> %s (%s) at destination %s\n", r.Input, route, r.Model, r.kind.Endpoint(), r.Destination)
			pretty.Reset()
			if err := json.Indent(&pretty, r.Record, "", "  "); err != nil {
				pretty.Write(r.Record) // cannot happen: Encode writes valid JSON
			}
			pretty.WriteByte('\n')
			_, err := w.Write(pretty.Bytes())
			return err
		}
		return nil
	})
	if err != nil {
		w.Flush()
		return n, err
	}
	return n, w.Flush()
}

// TestCounts counts the inputs of a map test by what became of them.
type TestCounts struct {
	Mapped  int // every output mapped
	Skipped int // skipped by a route or a routing setting
	// Failed counts the records any output of which failed, and the
	// inputs that were not records.
	Failed int
}

// Total is how many inputs were counted.
func (n TestCounts) Total() int { return n.Mapped + n.Skipped + n.Failed }

// String is the summary line: "3 mapped, 1 failed", with the skipped
// between them when there are any.
func (n TestCounts) String() string {
	if n.Skipped > 0 {
		return fmt.Sprintf("%d mapped, %d skipped, %d failed", n.Mapped, n.Skipped, n.Failed)
	}
	return fmt.Sprintf("%d mapped, %d failed", n.Mapped, n.Failed)
}

// notARecord is TestResult.Failed of an input that is not a record.
const notARecord = "not a record"

// MapTestResults maps every input of next (until io.EOF) and passes emit
// a result per input, or per output of a fan-out, in order. n and err are
// as MapTest's; an error of emit ends it.
func MapTestResults(m *Mapper, next func() (TestInput, error), emit func(TestResult) error) (n TestCounts, err error) {
	for {
		in, err := next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		label := in.Label
		if in.Err != nil {
			n.Failed++
			if err := emit(TestResult{Input: label, Failed: notARecord, Why: in.Err.Error()}); err != nil {
				return n, err
			}
			continue
		}
		res, mapErr := m.Map(in.Record)
		var results []TestResult
		switch {
		case mapErr != nil:
			n.Failed++
			results = append(results, failureResult(label, mapErr))
		case res.Skipped:
			n.Skipped++
			why := "skipped (no route matches; routing.unmatched is skip)"
			switch {
			case res.Route != "":
				why = "skipped by route " + res.Route
			case in.Record.Value == nil:
				why = "skipped (a tombstone; routing.tombstones is skip)"
			case skipSpace(in.Record.Value) == len(in.Record.Value):
				why = "skipped (an empty value; routing.empty is skip)"
			}
			results = append(results, TestResult{Input: label, Route: res.Route, Skipped: why})
		default:
			// Each output of a fan-out on its own, as the relay sends them;
			// the record fails if one does.
			bad := false
			for i := range res.Len() {
				o := res.At(i)
				if o.Failure != nil {
					bad = true
					results = append(results, failureResult(label, o.Failure))
					continue
				}
				results = append(results, TestResult{
					Input: label, Route: res.Route, Output: o.Name,
					Model: o.Record.Kind.String(), Destination: o.Destination,
					Record: json.RawMessage(o.Record.JSON), kind: o.Record.Kind,
				})
			}
			if bad {
				n.Failed++
			} else {
				n.Mapped++
			}
		}
		for _, r := range results {
			if err := emit(r); err != nil {
				return n, err
			}
		}
	}
}

// failureResult is the result of an input that failed with err.
func failureResult(label string, err error) TestResult {
	var f *Failure
	if !errors.As(err, &f) {
		return TestResult{Input: label, Failed: "error", Why: err.Error()}
	}
	return TestResult{Input: label, Route: f.Route, Output: f.Output, Failed: string(f.Reason), Field: f.Field, Why: f.Message}
}

// writeFailure writes why the input of r failed.
func writeFailure(w io.Writer, r TestResult) {
	if r.Failed == notARecord {
		fmt.Fprintf(w, "%s: FAILED not a record: %s\n", r.Input, r.Why)
		return
	}
	fmt.Fprintf(w, "%s: FAILED %s\n", r.Input, r.Failed)
	if r.Route != "" {
		fmt.Fprintf(w, "  route: %s\n", r.Route)
	}
	if r.Output != "" {
		fmt.Fprintf(w, "  output: %s\n", r.Output)
	}
	if r.Field != "" {
		fmt.Fprintf(w, "  field: %s\n", r.Field)
	}
	fmt.Fprintf(w, "  why:   %s\n", r.Why)
}

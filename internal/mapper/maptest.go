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

// RunMapTest maps each line of in (one JSON value per line; blank lines
// are ignored) as a record of topic and writes to out, for each, the route
// chosen and the Optikpi record produced (indented), or the failure and
// why. Records are on partition 0 at offset = line number (from 1), which
// is what a derived event_id is made from. ok counts mapped and skipped
// records, failed the failures; err is only an error reading in or
// writing out.
func RunMapTest(m *Mapper, topic string, in io.Reader, out io.Writer) (ok, failed int, err error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	w := bufio.NewWriter(out)
	var pretty bytes.Buffer
	for line := int64(1); sc.Scan(); line++ {
		value := bytes.TrimSpace(sc.Bytes())
		if len(value) == 0 {
			continue
		}
		rec := &kgo.Record{Topic: topic, Partition: 0, Offset: line, Value: value}
		res, mapErr := m.Map(rec)
		switch {
		case mapErr != nil:
			failed++
			var f *Failure
			if errors.As(mapErr, &f) {
				fmt.Fprintf(w, "line %d: FAILED %s\n", line, f.Reason)
				if f.Route != "" {
					fmt.Fprintf(w, "  route: %s\n", f.Route)
				}
				if f.Field != "" {
					fmt.Fprintf(w, "  field: %s\n", f.Field)
				}
				fmt.Fprintf(w, "  why:   %s\n", f.Message)
			} else {
				fmt.Fprintf(w, "line %d: FAILED %v\n", line, mapErr)
			}
		case res.Skipped:
			ok++
			if res.Route == "" {
				fmt.Fprintf(w, "line %d: skipped (no route matches; routing.unmatched is skip)\n", line)
			} else {
				fmt.Fprintf(w, "line %d: skipped by route %s\n", line, res.Route)
			}
		default:
			ok++
			fmt.Fprintf(w, "line %d: route %s -> %s (%s) at destination %s\n",
				line, res.Route, res.Record.Kind, res.Record.Kind.Endpoint(), res.Destination)
			pretty.Reset()
			if err := json.Indent(&pretty, res.Record.JSON, "", "  "); err != nil {
				pretty.Write(res.Record.JSON) // cannot happen: Encode writes valid JSON
			}
			pretty.WriteByte('\n')
			if _, err := w.Write(pretty.Bytes()); err != nil {
				return ok, failed, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		w.Flush()
		return ok, failed, fmt.Errorf("reading records: %w", err)
	}
	return ok, failed, w.Flush()
}

package demo

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// Summary is what a demo run relayed, and what it should have.
type Summary struct {
	Produced      int64
	Stats         pipeline.Stats
	AtEmulator    map[optikpi.Kind]int64   // records the emulators accepted
	InDLQTopic    int64                    // records in the dead-letter topic
	Partitions    int                      // source partitions checked for commits
	Gaps          []pipeline.Gap           // partitions whose commit is not at the end offset
	WantDelivered map[string]int64         // by model name, from the generator
	WantDead      map[failure.Reason]int64 // by reason, from the generator
	WantSkipped   int64                    // from the generator
}

// Accounted reports consumed = delivered + dead-lettered + skipped.
func (s *Summary) Accounted() bool { return s.Stats.Consumed == s.Stats.Done() }

// Committed reports committed offsets = end offsets everywhere.
func (s *Summary) Committed() bool { return len(s.Gaps) == 0 }

// AsExpected reports whether every model and reason got exactly what the
// generator meant it to, and the emulators and the dead-letter topic hold
// what the relay says it put there.
func (s *Summary) AsExpected() bool {
	for _, k := range optikpi.Kinds() {
		if s.Stats.Delivered[k] != s.WantDelivered[k.String()] || s.AtEmulator[k] < s.Stats.Delivered[k] {
			return false
		}
	}
	for r, n := range s.WantDead {
		if s.Stats.DeadLettered[r] != n {
			return false
		}
	}
	return s.Stats.Skipped == s.WantSkipped && s.InDLQTopic == s.Stats.TotalDeadLettered() && s.Stats.Consumed == s.Produced
}

// Reconciled is all three.
func (s *Summary) Reconciled() bool { return s.Accounted() && s.Committed() && s.AsExpected() }

func summarize(ctx context.Context, cfg *config.Config, st pipeline.Stats, prod *producer, emus *Emulators, topics []string) (*Summary, error) {
	s := &Summary{Produced: prod.count(), Stats: st, AtEmulator: make(map[optikpi.Kind]int64)}
	s.WantDelivered, s.WantDead, s.WantSkipped = prod.expectations()
	for _, k := range optikpi.Kinds() {
		s.AtEmulator[k] = int64(len(emus.EventIDs(k)))
	}
	adm, cl, err := newAdmin(cfg.Kafka.Brokers)
	if err != nil {
		return s, err
	}
	defer cl.Close()
	s.Gaps, err = pipeline.Uncommitted(ctx, adm, cfg.Kafka.Group, topics)
	if err != nil {
		return s, err
	}
	ends, err := adm.ListEndOffsets(ctx, append([]string{cfg.DLQ.Topic}, topics...)...)
	if err != nil {
		return s, err
	}
	for _, o := range ends[cfg.DLQ.Topic] {
		s.InDLQTopic += o.Offset
	}
	for _, t := range topics {
		s.Partitions += len(ends[t])
	}
	return s, nil
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISMATCH"
}

// Print writes the summary as a small report.
func (s *Summary) Print(w io.Writer) {
	st := s.Stats
	fmt.Fprintf(w, "\nsummary\n")
	fmt.Fprintf(w, "  produced %d, consumed %d\n", s.Produced, st.Consumed)
	fmt.Fprintf(w, "  consumed %d = delivered %d + dead-lettered %d + skipped %d  [%s]\n",
		st.Consumed, st.TotalDelivered(), st.TotalDeadLettered(), st.Skipped, mark(s.Accounted()))
	fmt.Fprintf(w, "  %-18s %9s %9s %11s\n", "delivered by model", "expected", "relayed", "at optikpi")
	for _, k := range optikpi.Kinds() {
		fmt.Fprintf(w, "    %-16s %9d %9d %11d\n", k, s.WantDelivered[k.String()], st.Delivered[k], s.AtEmulator[k])
	}
	fmt.Fprintf(w, "  %-18s %9s %9s\n", "dead-lettered", "expected", "actual")
	var rs []failure.Reason
	for r := range s.WantDead {
		rs = append(rs, r)
	}
	for r := range st.DeadLettered {
		if _, ok := s.WantDead[r]; !ok {
			rs = append(rs, r)
		}
	}
	slices.Sort(rs)
	for _, r := range rs {
		fmt.Fprintf(w, "    %-16s %9d %9d\n", r, s.WantDead[r], st.DeadLettered[r])
	}
	fmt.Fprintf(w, "  dead-letter topic holds %d records  [%s]\n", s.InDLQTopic, mark(s.InDLQTopic == st.TotalDeadLettered()))
	fmt.Fprintf(w, "  committed offsets = end offsets on %d partitions  [%s]\n", s.Partitions, mark(s.Committed()))
	for _, g := range s.Gaps {
		fmt.Fprintf(w, "    %s\n", g)
	}
	fmt.Fprintf(w, "  every model and reason as the generator intended  [%s]\n", mark(s.AsExpected()))
	if s.Reconciled() {
		fmt.Fprintln(w, "reconciled")
	} else {
		fmt.Fprintln(w, "NOT RECONCILED")
	}
}

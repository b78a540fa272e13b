// Package replay selects dead letters, checks a fixed configuration against
// them and sends them again, to Optikpi or to their source topic, keeping its
// progress in a consumer group of its own.
//
// Each source record is replayed at most once per selection: the dead
// letters of one source record (dlq.SourceKey) are collapsed into the latest.
// Of a record fanned out to several outputs, only the outputs its letters
// name are sent again (Item.Outputs), never one that was delivered.
//
// A state record (customer, ext_attributes) is superseded, and skipped, when
// its original partition holds a later record with the same Kafka key that
// maps to the same kind: replaying the older profile would regress the
// player. A state record without a key cannot be judged and is replayed.
package replay

import (
	"errors"
	"sync"

	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// Target is where a replay sends records.
type Target string

// Targets.
const (
	// ToOptikpi maps and delivers through the relay's sink.
	ToOptikpi Target = "optikpi"
	// ToSource republishes to the original topic and partition, for every
	// consumer group of that topic to see again.
	ToSource Target = "source"
)

// DefaultMaxReplays is Options.MaxReplays when zero.
const DefaultMaxReplays = 3

// ErrInvalidOptions wraps every problem Replay finds in its Options.
var ErrInvalidOptions = errors.New("replay: invalid options")

// ErrOtherSelection is returned by Replay when its run's progress was kept
// for another Options.Selection: the letters below it would count as
// replayed though that run never selected them.
var ErrOtherSelection = errors.New("replay: the run's progress was kept for other filters or another --to; choose another --run-id")

// Options say what to replay and how.
type Options struct {
	// Filter selects the dead letters; Limit, when above 0, keeps the
	// first Limit source records selected.
	Filter dlq.Filter
	Limit  int
	// To is where records go; "" is ToOptikpi.
	To Target
	// RunID names the run: its progress is kept in the consumer group
	// Group(kafka.group, RunID) and the letters it writes back carry it.
	// Required by Replay.
	RunID string
	// Selection names what Filter, Limit and To select, and is kept with
	// the progress: a run whose progress was kept for another Selection
	// fails with ErrOtherSelection. "" checks nothing.
	Selection string
	// DryRun selects, collapses and maps, and sends and commits nothing.
	DryRun bool
	// Rate bounds records sent per second; 0 is unbounded.
	Rate float64
	// Max bounds the records sent by this run; 0 is unbounded. The rest
	// stays uncommitted, for the next run.
	Max int
	// MaxReplays: a record that has failed this many replays is reported,
	// not sent. 0 is DefaultMaxReplays.
	MaxReplays int
	// IncludeSuperseded replays superseded state records too.
	IncludeSuperseded bool
	// Pipeline gives the logger, Kafka options, tokens and HTTP client
	// of the sink and clients, as for the relay.
	Pipeline pipeline.Options
	// OnResult, if set, is called with each selected record's outcome,
	// one call at a time.
	OnResult func(Result)
	// OnProgress, if set, is called after each record is finished with
	// how many of the total to work on are, one call at a time.
	OnProgress func(finished, total int)
}

// Outcome is what became of a selected source record.
type Outcome string

// Outcomes.
const (
	WouldDeliver    Outcome = "would deliver"    // dlq test, dry run to Optikpi
	WouldRepublish  Outcome = "would republish"  // dry run to the source topic
	WouldFail       Outcome = "would fail again" // dlq test, dry run
	Delivered       Outcome = "delivered"
	Republished     Outcome = "republished"
	FailedAgain     Outcome = "failed again" // written back to the dead-letter topic
	Skipped         Outcome = "skipped"      // the fixed configuration skips the record
	Superseded      Outcome = "superseded"
	AlreadyReplayed Outcome = "already replayed"
	OverMaxReplays  Outcome = "over max replays"
	Unreadable      Outcome = "unreadable" // a record of the dead-letter topic that is no dead letter
)

// Result is the outcome of one selected source record.
type Result struct {
	Outcome Outcome
	// Letter is the dead letter replayed: the latest of its source
	// record's; Duplicates counts the others.
	Letter     *dlq.Letter
	Duplicates int
	// Route, Destination, Endpoint, EventID and Record (the Optikpi JSON)
	// describe the mapped record, the first mapped of several outputs;
	// empty when mapping failed.
	Route, Destination, Endpoint, EventID string
	Record                                []byte
	// Outputs names the outputs of a fan-out route sent (or that would
	// be); nil for a route without outputs.
	Outputs []string
	// Reason, Field and Message say why a record failed (again).
	Reason  failure.Reason
	Field   string
	Message string
	// NoKey marks a state record without a Kafka key: replayed because
	// whether it is superseded cannot be known.
	NoKey bool
	// SupersededBy is the offset of the newer record on the original
	// partition, for Superseded.
	SupersededBy int64
}

// Summary counts the outcomes of a run.
type Summary struct {
	RunID, Group string
	// Selected counts source records; Duplicates the dead letters
	// collapsed into another of the same source record.
	Selected, Duplicates int
	Counts               map[Outcome]int
	// Failed counts WouldFail and FailedAgain by reason.
	Failed map[failure.Reason]int
	// NoKey counts state records replayed without a supersede check.
	NoKey int
	// NotSent counts records left for the next run by Max or an
	// interruption.
	NotSent int
}

// Failures is how many records failed or would fail again.
func (s *Summary) Failures() int { return s.Counts[FailedAgain] + s.Counts[WouldFail] }

// Group is the consumer group that keeps the progress of run id of a relay
// whose kafka.group is group.
func Group(group, runID string) string { return group + "-replay-" + runID }

// report counts and hands out results; its methods are safe for
// concurrent use.
type report struct {
	mu         sync.Mutex
	sum        Summary
	onResult   func(Result)
	onProgress func(int, int)
	finished   int
	total      int
}

func newReport(o *Options) *report {
	return &report{
		sum:        Summary{RunID: o.RunID, Counts: map[Outcome]int{}, Failed: map[failure.Reason]int{}},
		onResult:   o.OnResult,
		onProgress: o.OnProgress,
	}
}

// selected counts what sel selected and reports its unreadable letters.
func (rp *report) selected(sel *Selection) {
	rp.mu.Lock()
	rp.sum.Selected, rp.sum.Duplicates = len(sel.Items), sel.Duplicates
	rp.mu.Unlock()
	for _, l := range sel.Unreadable {
		rp.add(Result{Outcome: Unreadable, Letter: l, Message: l.Err.Error()}, false)
	}
}

// add records r; finish also counts it as finished for the progress.
func (rp *report) add(r Result, finish bool) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.sum.Counts[r.Outcome]++
	if r.Outcome == FailedAgain || r.Outcome == WouldFail {
		rp.sum.Failed[r.Reason]++
	}
	if r.NoKey {
		rp.sum.NoKey++
	}
	if rp.onResult != nil {
		rp.onResult(r)
	}
	if finish {
		rp.finished++
		if rp.onProgress != nil {
			rp.onProgress(rp.finished, rp.total)
		}
	}
}

func (rp *report) summary() Summary {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.sum
}

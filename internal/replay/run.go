package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/sink"
)

// Bounds of the end of a run.
const (
	// commitInterval is how often progress is committed while a run sends.
	commitInterval = 500 * time.Millisecond
	// drainTimeout bounds how long an interrupted or finished run waits
	// for records already handed to the sink or the producer; what is
	// not done by then stays uncommitted, for the next run.
	drainTimeout = 2 * time.Minute
	// finalCommitTimeout bounds the last commit.
	finalCommitTimeout = 30 * time.Second
)

// mapItem maps the latest letter of it exactly as the relay mapped the
// original: with its original topic, partition, offset, key, headers and
// timestamp, so meta rules and derived event ids match the first attempt.
// It returns the outputs to send again: the route's only one, or those of a
// fan-out that it.Outputs names (all when it names none); none when the
// record is skipped. The error is the record's mapping failure, the first
// of an output's, or that an output named is not emitted any more.
func mapItem(m *mapper.Mapper, it *Item) (Result, []mapper.Output, error) {
	res := Result{Letter: it.Letter, Duplicates: len(it.Letters) - 1}
	mres, err := m.Map(it.Letter.Source)
	if err != nil {
		res.failed(err)
		return res, nil, err
	}
	res.Route = mres.Route
	if mres.Skipped {
		// The configuration skips the record on purpose: no output is
		// wanted, whichever the letter names.
		return res, nil, nil
	}
	var outs []mapper.Output
	if names := it.Outputs(); names == nil {
		for i := range mres.Len() {
			outs = append(outs, *mres.At(i))
		}
	} else {
		for _, n := range names {
			o := mres.Find(n)
			if o == nil {
				// Never silently passed over: its letter would count as
				// finished, and the output would be lost.
				err = &mapper.Failure{Reason: failure.Invalid, Route: mres.Route, Output: n,
					Message: fmt.Sprintf("the dead letter names output %q, which the configuration no longer emits for this record (renamed, removed, or its when no longer holds)", n)}
				res.failed(err)
				return res, nil, err
			}
			outs = append(outs, *o)
		}
	}
	for i := range outs {
		o := &outs[i]
		if o.Name != "" {
			res.Outputs = append(res.Outputs, o.Name)
		}
		if o.Failure != nil && err == nil {
			err = o.Failure
			res.failed(err)
		}
	}
	for i := range outs {
		if o := &outs[i]; o.Failure == nil {
			res.Destination = o.Destination
			res.Endpoint = o.Record.Kind.Endpoint()
			res.EventID = o.Record.EventID
			res.Record = o.Record.JSON
			break
		}
	}
	return res, outs, err
}

// failed says in res why mapping failed with err.
func (res *Result) failed(err error) {
	var f *mapper.Failure
	if errors.As(err, &f) {
		res.Reason, res.Route, res.Field, res.Message = f.Reason, f.Route, f.Field, f.Message
	} else {
		res.Message = err.Error()
	}
}

// Test maps each record sel selected with cfg as the relay would and
// reports whether it would be delivered or fail again; it sends nothing.
func Test(cfg *config.Config, sel *Selection, onResult func(Result)) (Summary, error) {
	m, err := mapper.New(cfg)
	if err != nil {
		return Summary{}, fmt.Errorf("replay: %w", err)
	}
	rp := newReport(&Options{OnResult: onResult})
	rp.selected(sel)
	for _, it := range sel.Items {
		res, outs, err := mapItem(m, it)
		switch {
		case err != nil:
			res.Outcome = WouldFail
		case len(outs) == 0:
			res.Outcome = Skipped
		default:
			res.Outcome = WouldDeliver
		}
		rp.add(res, false)
	}
	return rp.summary(), nil
}

// job is one item a run works on.
type job struct {
	it     *Item
	res    Result
	outs   []mapper.Output // to send; none when skipped or the record failed
	mapErr error
	cand   *candidate // nil unless a supersede check was made
}

// run is one call of Replay.
type run struct {
	o      Options
	cfg    *config.Config
	log    *zap.Logger
	kopts  []kgo.Opt
	rp     *report
	prog   *progress
	life   context.Context // outlives ctx: writes already started complete
	errMu  sync.Mutex
	errs   []error
	sent   int // by drive's goroutine only
	lim    *rate.Limiter
	maxRep int
}

func (r *run) fail(err error) {
	r.errMu.Lock()
	r.errs = append(r.errs, err)
	r.errMu.Unlock()
}

// finish reports res and marks j's letters done.
func (r *run) finish(j *job, res Result) {
	r.prog.finish(j.it)
	r.rp.add(res, true)
}

// Replay replays what o selects from cfg's dead-letter topic. It returns
// the summary and the first errors of Kafka or of the run; records that fail
// again are no error (Summary.Failures counts them). An interrupted run
// (ctx done) stops sending, waits for what it already sent, commits its
// progress and returns ctx's error.
func Replay(ctx context.Context, cfg *config.Config, o Options) (Summary, error) {
	switch {
	case o.RunID == "":
		return Summary{}, fmt.Errorf("%w: no run id", ErrInvalidOptions)
	case o.To != "" && o.To != ToOptikpi && o.To != ToSource:
		return Summary{}, fmt.Errorf("%w: target %q: want %q or %q", ErrInvalidOptions, o.To, ToOptikpi, ToSource)
	case o.Rate < 0 || o.Max < 0 || o.MaxReplays < 0 || o.Limit < 0:
		return Summary{}, fmt.Errorf("%w: rate, max, max replays and limit must not be negative", ErrInvalidOptions)
	}
	if o.To == "" {
		o.To = ToOptikpi
	}
	r := &run{o: o, cfg: cfg, log: o.Pipeline.Logger, maxRep: o.MaxReplays, rp: newReport(&o)}
	if r.log == nil {
		r.log = zap.NewNop()
	}
	if r.maxRep == 0 {
		r.maxRep = DefaultMaxReplays
	}
	m, err := mapper.New(cfg)
	if err != nil {
		return Summary{}, fmt.Errorf("replay: %w", err)
	}
	kopts, err := pipeline.KafkaOpts(cfg.Kafka, r.log)
	if err != nil {
		return Summary{}, fmt.Errorf("replay: %w", err)
	}
	r.kopts = append(kopts, o.Pipeline.KafkaOpts...)
	group, topic := Group(cfg.Kafka.Group, o.RunID), cfg.DLQ.Topic
	r.rp.sum.Group = group

	sel, err := Select(ctx, r.kopts, topic, o.Filter, o.Limit)
	if err != nil {
		return r.rp.summary(), err
	}
	admCl, err := kgo.NewClient(r.kopts...)
	if err != nil {
		return r.rp.summary(), fmt.Errorf("replay: %w", err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	done, err := committed(ctx, adm, group, topic, o.Selection)
	if err != nil {
		return r.rp.summary(), err
	}
	r.prog = newProgress(sel.Ends, sel.Cut, done)
	r.prog.selection = o.Selection
	r.rp.selected(sel)

	var work []*job
	var cands []*candidate
	for _, it := range sel.Items {
		if r.already(it) {
			r.rp.add(Result{Outcome: AlreadyReplayed, Letter: it.Letter, Duplicates: len(it.Letters) - 1}, false)
			continue
		}
		r.prog.hold(it)
		j := &job{it: it}
		j.res, j.outs, j.mapErr = mapItem(m, it)
		// A record of several outputs is not superseded whole: a newer
		// profile does not make an older account event obsolete.
		if j.mapErr == nil && len(j.outs) == 1 && j.outs[0].Record.Kind.IsState() {
			src := it.Letter.Source
			switch {
			case src.Key == nil:
				j.res.NoKey = true
			case !o.IncludeSuperseded:
				j.cand = &candidate{src: it.Letter.Key(), key: src.Key, kind: j.outs[0].Record.Kind, newer: -1}
				cands = append(cands, j.cand)
			}
		}
		work = append(work, j)
	}
	r.prog.sort()
	if err := findSuperseding(ctx, r.kopts, m, cands); err != nil {
		return r.rp.summary(), err
	}
	r.rp.mu.Lock()
	r.rp.total = len(work)
	r.rp.mu.Unlock()

	var stop func()
	if !o.DryRun {
		stop = r.commitEvery(ctx, adm, group, topic)
	}
	r.life = context.WithoutCancel(ctx)
	if o.To == ToSource {
		err = r.toSource(ctx, work)
	} else {
		err = r.toOptikpi(ctx, work)
	}
	if err != nil {
		r.fail(err)
	}
	if stop != nil {
		stop()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalCommitTimeout)
		if err := r.prog.commit(cctx, adm, group, topic); err != nil {
			r.fail(err)
		}
		cancel()
	}
	sum := r.rp.summary()
	r.rp.mu.Lock()
	sum.NotSent = r.rp.total - r.rp.finished
	r.rp.mu.Unlock()
	if ctx.Err() != nil {
		r.fail(ctx.Err())
	}
	return sum, errors.Join(r.errs...)
}

// already reports whether an earlier attempt of this run finished it: one
// of its letters is below the committed progress or was written back by
// this run. One is enough: an attempt finishes all letters of a record at
// once, and a letter below the progress that the selection (the same, see
// Options.Selection) selects was finished, for the progress never passes
// an unfinished one nor a letter a limit left out. Its other letters can
// lie above the progress (past a limit's cut, behind another record's
// unfinished letter, or dead-lettered again later by the relay).
func (r *run) already(it *Item) bool {
	for _, l := range it.Letters {
		if r.prog.below(l.Partition, l.Offset) || l.ReplayRun == r.o.RunID {
			return true
		}
	}
	return false
}

// commitEvery commits the progress every commitInterval until the returned
// stop is called.
func (r *run) commitEvery(ctx context.Context, adm *kadm.Client, group, topic string) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(commitInterval)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if err := r.prog.commit(ctx, adm, group, topic); err != nil && ctx.Err() == nil {
					r.log.Warn("progress not committed; retried", zap.Error(err))
				}
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// next decides what the loop does with j before sending: false when j was
// finished by a rule (over max replays, superseded).
func (r *run) next(j *job) bool {
	if n := j.it.Replays(); n >= r.maxRep {
		res := j.res
		res.Outcome = OverMaxReplays
		res.Message = fmt.Sprintf("replayed and failed %d times (--max-replays %d)", n, r.maxRep)
		r.finish(j, res)
		return false
	}
	if j.cand != nil && j.cand.newer >= 0 {
		res := j.res
		res.Outcome, res.SupersededBy = Superseded, j.cand.newer
		r.finish(j, res)
		return false
	}
	return true
}

// drive hands the jobs to send in order, finishing by rule (over max
// replays, superseded) those it need not send, until ctx is done, --max
// records were sent or send returns false.
func (r *run) drive(ctx context.Context, work []*job, send func(*job) bool) {
	r.lim = rate.NewLimiter(rate.Inf, 1)
	if r.o.Rate > 0 {
		r.lim = rate.NewLimiter(rate.Limit(r.o.Rate), 1)
	}
	for _, j := range work {
		if ctx.Err() != nil || (r.o.Max > 0 && r.sent >= r.o.Max) {
			return
		}
		if r.next(j) && !send(j) {
			return
		}
	}
}

func (r *run) toOptikpi(ctx context.Context, work []*job) error {
	var snk *sink.Sink
	var w *dlq.Writer
	if !r.o.DryRun {
		var err error
		if snk, err = pipeline.NewSink(r.cfg, r.o.Pipeline); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		cl, err := r.producer()
		if err != nil {
			snk.Close(ctx)
			return fmt.Errorf("replay: dead-letter producer: %w", err)
		}
		defer cl.Close()
		w, err = dlq.NewWriter(cl, dlq.Options{Topic: r.cfg.DLQ.Topic, Version: buildinfo.Version(), Logger: r.log.Named("dlq")})
		if err != nil {
			snk.Close(ctx)
			return fmt.Errorf("replay: %w", err)
		}
	}
	r.drive(ctx, work, func(j *job) bool {
		res := j.res
		switch {
		case j.mapErr != nil && len(j.outs) == 0: // the whole record
			if r.o.DryRun {
				res.Outcome = WouldFail
				r.finish(j, res)
				return true
			}
			r.writeBack(w, j, []dlq.Entry{pipeline.MappingFailure(j.mapErr)}, res)
			return true
		case len(j.outs) == 0:
			res.Outcome = Skipped
			r.finish(j, res)
			return true
		case r.o.DryRun:
			res.Outcome = WouldDeliver
			if j.mapErr != nil {
				res.Outcome = WouldFail
			} else {
				r.sent++
			}
			r.finish(j, res)
			return true
		}
		if err := r.lim.Wait(ctx); err != nil {
			return false
		}
		a := &attempt{r: r, w: w, j: j, res: res, left: len(j.outs)}
		for i := range j.outs {
			out := &j.outs[i]
			if out.Failure != nil {
				a.done(pipeline.MappingFailure(out.Failure), "")
				continue
			}
			err := snk.Send(ctx, out.Destination, out.Record, func(f *sink.Failure) {
				if f == nil {
					a.done(dlq.Entry{}, "")
					return
				}
				e := pipeline.DeliveryFailure(f, res.Route, out.Record.EventID)
				e.Output = out.Name
				a.done(e, f.Message)
			})
			if err != nil {
				// ctx done or the sink closed: the rest is for the next
				// run, which sends this record's outputs again, for this
				// attempt writes nothing back until each has an answer.
				return false
			}
		}
		r.sent++
		return true
	})
	if r.o.DryRun {
		return nil
	}
	dctx, cancel := context.WithTimeout(r.life, drainTimeout)
	defer cancel()
	var errs []error
	if err := snk.Close(dctx); err != nil {
		errs = append(errs, fmt.Errorf("replay: sink: %w", err))
	}
	if err := w.Close(dctx); err != nil {
		errs = append(errs, fmt.Errorf("replay: dead-letter writer: %w", err))
	}
	return errors.Join(errs...)
}

// producer is a client for the run's writes: every replica acknowledges
// each record, sent at once. opts add to it.
func (r *run) producer(opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append(append(slices.Clone(r.kopts),
		kgo.ClientID(r.cfg.Kafka.ClientID+"-replay"),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
	), opts...)...)
}

// attempt gathers the answers for the outputs of one job: once each
// output is delivered or has failed, the failures are written back, each
// naming its output, so that the next run sends only those again.
type attempt struct {
	r    *run
	w    *dlq.Writer
	j    *job
	res  Result
	mu   sync.Mutex
	left int
	errs []dlq.Entry
}

// done records one output's answer: a zero e for delivered, else its dead
// letter, with msg the message to report ("" for e's).
func (a *attempt) done(e dlq.Entry, msg string) {
	a.mu.Lock()
	if e.Reason != "" {
		if len(a.errs) == 0 && msg != "" {
			a.res.Reason, a.res.Message = e.Reason, msg
		}
		a.errs = append(a.errs, e)
	}
	a.left--
	last := a.left == 0
	a.mu.Unlock()
	switch {
	case !last:
	case len(a.errs) == 0:
		a.res.Outcome = Delivered
		a.r.finish(a.j, a.res)
	default:
		a.r.writeBack(a.w, a.j, a.errs, a.res)
	}
}

// writeBack writes es, the dead letters of j's record, to the dead-letter
// topic again, with their replay count raised and this run's id, and
// finishes j once every one is there.
func (r *run) writeBack(w *dlq.Writer, j *job, es []dlq.Entry, res Result) {
	res.Outcome, res.Reason = FailedAgain, es[0].Reason
	if res.Message == "" {
		res.Message = es[0].Message
	}
	var mu sync.Mutex
	left, failed := len(es), false
	for _, e := range es {
		e.Source = j.it.Letter.Source
		e.Replays = j.it.Replays() + 1
		e.ReplayRun = r.o.RunID
		w.Write(r.life, e, func(err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && !failed {
				failed = true
				r.fail(fmt.Errorf("replay: writing %s back to the dead-letter topic: %w", j.it.Letter.Key(), err))
			}
			if left--; left == 0 && !failed {
				r.finish(j, res) // else not finished: replayed again by the next run
			}
		})
	}
}

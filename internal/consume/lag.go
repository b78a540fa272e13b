package consume

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"go.uber.org/zap"
)

// The group's lag is read from the brokers, not from fetches: fetching
// pauses at MaxInFlight, and a lag computed from the last fetch's high
// watermark then freezes while the backlog grows. lagLoop asks the group
// coordinator for the group's committed offsets and the partition leaders
// for their end offsets, on a timer of its own, so the numbers move during
// a stall. Only the partitions this member owns are reported: summed over
// the group's replicas, every partition counts once.

// partitionLag is one partition's lag as the brokers see it.
type partitionLag struct {
	committed int64 // the group's committed offset; -1 none
	lag       int64 // end offset minus the committed one (or the log start)
}

// groupLag holds the last poll's result and serves it to Prometheus.
type groupLag struct {
	c *Consumer

	mu    sync.Mutex
	parts map[tp]partitionLag
	// polled is when a poll last read every owned partition; the start
	// before the first, so that polls failing from the start show as
	// stale rather than as no series, which no alert can see.
	polled time.Time

	lagDesc, committedDesc, oldestDesc, polledDesc *prometheus.Desc
	errors                                         prometheus.Counter
}

func newGroupLag(c *Consumer) *groupLag {
	labels := []string{"topic", "partition"}
	desc := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "consumer", name), help, labels, nil)
	}
	return &groupLag{
		c:      c,
		parts:  make(map[tp]partitionLag),
		polled: time.Now(),
		lagDesc: desc("group_lag",
			"Records after the group's committed offset, up to the partition's end offset, as the brokers report them; only for the partitions this member owns, so a sum over the replicas counts every partition once.", labels),
		committedDesc: desc("group_committed_offset",
			"The group's committed offset (the next to read), as the group coordinator reports it; only for the partitions this member owns.", labels),
		oldestDesc: desc("oldest_unfinished_seconds",
			"Age of the oldest record handed to the pipeline and not yet delivered or dead-lettered, since it was fetched; 0 when none is in flight.", labels),
		polledDesc: desc("group_lag_polled_timestamp_seconds",
			"Unix time of the last group lag poll that read every partition this member owns; the consumer's start before the first.", nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "consumer", Name: "group_lag_poll_errors_total",
			Help: "Group lag polls that failed; the lag keeps its last value.",
		}),
	}
}

// Describe implements prometheus.Collector.
func (g *groupLag) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.lagDesc
	ch <- g.committedDesc
	ch <- g.oldestDesc
	ch <- g.polledDesc
}

// Collect implements prometheus.Collector. It reports the partitions owned
// now: one revoked since the last poll is gone at once.
func (g *groupLag) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	lags := g.get()
	g.mu.Lock()
	polled := g.polled
	g.mu.Unlock()
	for _, p := range g.c.owned() {
		tp, part := p.topic, strconv.Itoa(int(p.partition))
		if l, ok := lags[p.key()]; ok {
			ch <- prometheus.MustNewConstMetric(g.lagDesc, prometheus.GaugeValue, float64(l.lag), tp, part)
			if l.committed >= 0 {
				ch <- prometheus.MustNewConstMetric(g.committedDesc, prometheus.GaugeValue, float64(l.committed), tp, part)
			}
		}
		var age float64
		p.mu.Lock()
		if at, ok := p.t.oldest(); ok {
			age = max(0, now.Sub(time.Unix(0, at)).Seconds())
		}
		p.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(g.oldestDesc, prometheus.GaugeValue, age, tp, part)
	}
	ch <- prometheus.MustNewConstMetric(g.polledDesc, prometheus.GaugeValue, float64(polled.UnixNano())/1e9)
}

// owned returns the partitions this member owns now, sorted.
func (c *Consumer) owned() []*partition {
	c.mu.Lock()
	out := slices.Collect(maps.Values(c.parts))
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b *partition) int {
		return cmp.Or(strings.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	return out
}

// lagLoop polls the group's lag every LagInterval, and at once after an
// assignment, until quit.
func (c *Consumer) lagLoop() {
	defer close(c.lagDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-c.quit
		cancel()
	}()
	adm := kadm.NewClient(c.cl)
	t := time.NewTicker(c.opts.LagInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			c.pollLagOnce(ctx, adm)
		case <-c.lagNow:
			c.pollLagOnce(ctx, adm)
		}
	}
}

func (c *Consumer) pollLagOnce(ctx context.Context, adm *kadm.Client) {
	pctx, cancel := context.WithTimeout(ctx, c.opts.CommitTimeout)
	defer cancel()
	if err := c.pollLag(pctx, adm); err != nil && ctx.Err() == nil {
		c.lagStats.errors.Inc()
		c.log.Warn("group lag poll failed; retried at the next interval", zap.Error(err))
	}
}

// pollLag reads the committed and end offsets of the owned partitions.
func (c *Consumer) pollLag(ctx context.Context, adm *kadm.Client) error {
	owned := c.owned()
	if len(owned) == 0 {
		c.lagStats.set(nil, true)
		return nil
	}
	topics := make(map[string]bool)
	for _, p := range owned {
		topics[p.topic] = true
	}
	names := slices.Sorted(maps.Keys(topics))
	commits, err := adm.FetchOffsets(ctx, c.opts.Group)
	if err != nil {
		return fmt.Errorf("consume: fetch the group's offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, names...)
	if err != nil {
		return fmt.Errorf("consume: list end offsets: %w", err)
	}
	var starts kadm.ListedOffsets // only if a partition has no commit yet
	prev := c.lagStats.get()
	out := make(map[tp]partitionLag, len(owned))
	var errs []error
	fail := func(p *partition, err error) {
		errs = append(errs, fmt.Errorf("%s[%d]: %w", p.topic, p.partition, err))
		if l, ok := prev[p.key()]; ok {
			out[p.key()] = l // keep the last known value
		}
	}
	for _, p := range owned {
		end, ok := ends.Lookup(p.topic, p.partition)
		if !ok || end.Err != nil {
			fail(p, fmt.Errorf("end offset: %w", cmpErr(end.Err)))
			continue
		}
		l := partitionLag{committed: -1}
		from := int64(-1)
		if o, ok := commits.Lookup(p.topic, p.partition); ok && o.Err == nil && o.At >= 0 {
			l.committed, from = o.At, o.At
		} else {
			// No commit: the group starts at the log start.
			if starts == nil {
				if starts, err = adm.ListStartOffsets(ctx, names...); err != nil {
					return fmt.Errorf("consume: list start offsets: %w", err)
				}
			}
			if s, ok := starts.Lookup(p.topic, p.partition); ok && s.Err == nil {
				from = s.Offset
			}
		}
		if from < 0 {
			fail(p, errors.New("no committed or start offset"))
			continue
		}
		l.lag = max(0, end.Offset-from)
		out[p.key()] = l
	}
	c.lagStats.set(out, len(errs) == 0)
	return errors.Join(errs...)
}

// cmpErr names a missing answer, which kadm reports with no error.
func cmpErr(err error) error {
	if err == nil {
		return errors.New("not in the answer")
	}
	return err
}

func (g *groupLag) get() map[tp]partitionLag {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.parts)
}

// set keeps a poll's result; complete says it read every owned partition,
// and only then does it count as a poll for the staleness alert.
func (g *groupLag) set(parts map[tp]partitionLag, complete bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if parts == nil {
		parts = make(map[tp]partitionLag)
	}
	g.parts = parts
	if complete {
		g.polled = time.Now()
	}
}

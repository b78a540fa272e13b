// Package demo runs the whole relay in one process: an embedded Kafka, an
// Optikpi emulator per destination, a generator of casino traffic, and the
// real pipeline between them, ending in a summary that must reconcile.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// Options tune a demo run. The zero value of a field means its default.
type Options struct {
	Config     *config.Config // the relay's configuration; its brokers and base URLs are replaced
	Records    int            // events to produce before draining; default 20000
	Follow     bool           // keep producing until ctx is done instead of stopping at Records
	Rate       int            // events per second with Follow; default 2000
	Partitions int            // partitions per topic; default 6
	Seed       int64          // generator seed; default 1
	Stall      time.Duration  // give up when nothing finishes for this long; default 30s
	Out        io.Writer      // progress and summary; default io.Discard
	Logger     *zap.Logger    // the relay's logs; default none
}

func (o *Options) defaults() {
	if o.Records <= 0 {
		o.Records = 20000
	}
	if o.Rate <= 0 {
		o.Rate = 2000
	}
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Stall <= 0 {
		o.Stall = 30 * time.Second
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
}

// ErrNotReconciled is returned when the summary does not add up.
var ErrNotReconciled = errors.New("demo: summary does not reconcile")

// Run runs the demo until Records events are produced and relayed (or, with
// Follow, until ctx is done), drains the relay, and returns the summary. The
// error wraps ErrNotReconciled when the counts do not add up.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	opts.defaults()
	cfg := opts.Config
	if cfg == nil {
		return nil, errors.New("demo: no configuration")
	}
	topics := SourceTopics(cfg)

	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.SeedTopics(int32(opts.Partitions), topics...),
		kfake.SeedTopics(1, cfg.DLQ.Topic),
	)
	if err != nil {
		return nil, fmt.Errorf("demo: start embedded kafka: %w", err)
	}
	defer cluster.Close()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.TLS = config.TLS{}
	cfg.Kafka.SASL = config.SASL{}
	cfg.Sink.TLS, cfg.Sink.ProxyURL = config.ClientTLS{}, "" // the emulators are local and plain HTTP

	emus, err := StartEmulators(cfg, nil)
	if err != nil {
		return nil, err
	}
	defer emus.Close()

	reg := telemetry.NewRegistry()
	p, err := pipeline.New(cfg, pipeline.Options{Logger: opts.Logger, Registerer: reg, Tokens: emus.Tokens})
	if err != nil {
		return nil, err
	}
	srv, err := telemetry.Listen("127.0.0.1:0", reg, p, opts.Logger)
	if err != nil {
		p.Abort()
		return nil, err
	}
	defer srv.Close(context.Background())
	fmt.Fprintf(opts.Out, "embedded kafka %v, %d topics x %d partitions; optikpi emulator(s) %s; metrics http://%s/metrics\n",
		cfg.Kafka.Brokers, len(topics), opts.Partitions, emulatorURLs(cfg), srv.Addr())

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	runDone := make(chan error, 1)
	go func() { runDone <- p.Run(runCtx) }()

	prod, err := newProducer(cfg.Kafka.Brokers, opts.Seed)
	if err != nil {
		p.Abort()
		return nil, err
	}
	defer prod.close()
	prodCtx, stopProd := context.WithCancel(ctx)
	defer stopProd()
	prodDone := make(chan error, 1)
	go func() {
		if opts.Follow {
			prodDone <- prod.follow(prodCtx, opts.Rate)
		} else {
			prodDone <- prod.produce(prodCtx, opts.Records)
		}
	}()

	waitErr := watch(ctx, p, prod, prodDone, opts)
	stopProd()
	stopRun()
	runErr := <-runDone

	sctx, cancel := context.WithTimeout(context.Background(), cfg.Shutdown.Timeout)
	defer cancel()
	shutErr := p.Shutdown(sctx)

	sum, sumErr := summarize(context.Background(), cfg, p.Stats(), prod, emus, topics)
	if sum != nil {
		sum.Print(opts.Out)
	}
	if err := errors.Join(waitErr, runErr, shutErr, sumErr); err != nil {
		return sum, err
	}
	if !sum.Reconciled() {
		return sum, ErrNotReconciled
	}
	return sum, nil
}

// SourceTopics are the topics the relay reads: the configured names, or with
// a topic regex, the generator's topics.
func SourceTopics(cfg *config.Config) []string {
	if cfg.Kafka.TopicRegex || len(cfg.Kafka.Topics) == 0 {
		return gen.Topics()
	}
	return cfg.Kafka.Topics
}

// watch prints progress until every produced record is done, ctx ends, or
// nothing has finished for opts.Stall.
func watch(ctx context.Context, p *pipeline.Pipeline, prod *producer, prodDone <-chan error, opts Options) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	lastDone, lastProgress := int64(-1), time.Now()
	produced := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-prodDone:
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("demo: producing: %w", err)
			}
			produced = true
			prodDone = nil
		case <-tick.C:
		}
		st := p.Stats()
		done := st.Done()
		fmt.Fprintln(opts.Out, progress(time.Since(start), prod.count(), st, p.Consumer().Stats().Lag, p.Ready()))
		if produced && !opts.Follow && done >= prod.count() {
			return nil
		}
		if done != lastDone {
			lastDone, lastProgress = done, time.Now()
		} else if time.Since(lastProgress) > opts.Stall {
			return fmt.Errorf("demo: no record finished for %v (readiness: %v)", opts.Stall, p.Ready())
		}
	}
}

// progress is one line of the live view: totals, then delivered per
// endpoint and dead-lettered per reason, then readiness when it fails.
func progress(elapsed time.Duration, produced int64, st pipeline.Stats, lag int64, ready error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5.1fs produced %d consumed %d lag %d | delivered %d", elapsed.Seconds(), produced, st.Consumed, lag, st.TotalDelivered())
	sep := " ("
	for _, k := range optikpi.Kinds() {
		if n := st.Delivered[k]; n > 0 {
			fmt.Fprintf(&b, "%s%s %d", sep, k.Endpoint(), n)
			sep = ", "
		}
	}
	if sep == ", " {
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " | dead-lettered %d", st.TotalDeadLettered())
	sep = " ("
	for _, r := range failure.Reasons() {
		if n := st.DeadLettered[r]; n > 0 {
			fmt.Fprintf(&b, "%s%s %d", sep, r, n)
			sep = ", "
		}
	}
	if sep == ", " {
		b.WriteString(")")
	}
	if st.Skipped > 0 {
		fmt.Fprintf(&b, " | skipped %d", st.Skipped)
	}
	if ready != nil {
		fmt.Fprintf(&b, " | NOT READY: %v", ready)
	}
	return b.String()
}

// newAdmin opens an admin client on brokers.
func newAdmin(brokers []string) (*kadm.Client, *kgo.Client, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl, nil
}

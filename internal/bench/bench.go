// Package bench measures the relay as a process of its own, fed by a broker
// and an Optikpi emulator in processes of their own (relay bench).
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
)

// Options tune a bench run. The zero value of a field means its default.
type Options struct {
	// Executable is the relay binary, run as "dev kafka", "dev optikpi"
	// and "run". Required.
	Executable string
	// Config is the configuration whose routes, batching and commits the
	// relay runs; its brokers, destination and listen address are
	// replaced. Required.
	Config string
	// Records is the backlog produced before the relay starts. Default
	// 1,000,000.
	Records int
	// Mix produces the nine-model traffic of the example configuration
	// instead of deposits alone.
	Mix bool
	// Rate, when above 0, produces this many records a second for Duration
	// while the relay runs, instead of a backlog.
	Rate int
	// Duration is how long Rate lasts. Default 30s.
	Duration time.Duration
	// Limits turns the emulator's guide rate limits on and keeps the
	// relay's configured ones; off, both are lifted.
	Limits bool
	// Partitions per source topic. Default 6.
	Partitions int
	// Seed of the generator. Default 1.
	Seed int64
	// Stall gives up when nothing is acknowledged for this long. Default 60s.
	Stall time.Duration
	// WorkDir receives the relay's configuration and the children's logs.
	// Default a temporary directory, removed unless the run fails.
	WorkDir string
	// Progress receives a line a second. Default none.
	Progress io.Writer
	// RelayEnv is added to the relay process's environment alone, such as
	// GOGC=off or GODEBUG=gctrace=1, to measure runtime settings without
	// changing the broker's and the emulator's.
	RelayEnv []string
	// EmulatorEnv is added to the emulator process's environment alone,
	// such as the relay binary's CPU profile variable, to profile it. It
	// may override emulatorProcs.
	EmulatorEnv []string
}

// emulatorProcs is the emulator process's GOMAXPROCS.
const emulatorProcs = "GOMAXPROCS=1"

func (o *Options) defaults() {
	if o.Records <= 0 {
		o.Records = 1_000_000
	}
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.Partitions <= 0 {
		o.Partitions = 6
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Stall <= 0 {
		o.Stall = time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// latencyEndpoint is where produce-to-acknowledgement is measured: deposits
// carry their event time to the millisecond in every mode.
var latencyEndpoint = optikpi.KindDeposit.Endpoint()

// Report is what a run measured. Throughput is over the window from the
// relay's start to the last acknowledgement; every process's CPU over the
// relay's lifetime, from its start to its exit.
type Report struct {
	Mode    string `json:"mode"`    // "backlog" or "rate"
	Traffic string `json:"traffic"` // "deposits" or "mix"
	Limits  bool   `json:"limits"`  // the guide's rate limits on
	Rate    int    `json:"rate,omitempty"`

	Produced     int64   `json:"produced"`      // records the broker acknowledged
	Skipped      int64   `json:"skipped"`       // of those, what a skip route drops
	Delivered    int64   `json:"delivered"`     // records the emulator accepted
	DeadLettered int64   `json:"dead_lettered"` // records in the dead-letter topic
	Acknowledged int64   `json:"acknowledged"`  // delivered + dead-lettered + skipped
	Seconds      float64 `json:"seconds"`       // from the relay's start to the last acknowledgement
	// StartupSeconds is from the relay's start to the first acknowledgement.
	StartupSeconds float64 `json:"startup_seconds"`
	RecordsPerS    float64 `json:"records_per_second"`
	Committed      bool    `json:"committed"` // committed offsets = end offsets after the relay stopped

	CPUSeconds      float64 `json:"relay_cpu_seconds"`
	CPUMicrosPerRec float64 `json:"relay_cpu_us_per_record"`
	PeakRSSBytes    int64   `json:"relay_peak_rss_bytes"`
	// The broker's and the emulator's CPU, measured as the relay's is,
	// share the machine with it: the ceiling is the records a second the
	// machine's CPUs allow at the three processes' CPU per record.
	BrokerCPUSeconds        float64 `json:"broker_cpu_seconds"`
	BrokerCPUMicrosPerRec   float64 `json:"broker_cpu_us_per_record"`
	EmulatorCPUSeconds      float64 `json:"emulator_cpu_seconds"`
	EmulatorCPUMicrosPerRec float64 `json:"emulator_cpu_us_per_record"`
	CPUs                    int     `json:"cpus"`
	CPUCeilingRecPerS       float64 `json:"cpu_ceiling_records_per_second,omitempty"` // CPUs / the three per-record costs; not when one is unmeasured

	Requests        int64   `json:"requests"` // every request the emulator answered
	AvgBatch        float64 `json:"avg_batch_records"`
	Throttled       int64   `json:"throttled_429"`
	LatencyEndpoint string  `json:"latency_endpoint"`
	LatencyP50Ms    float64 `json:"latency_p50_ms"`
	LatencyP99Ms    float64 `json:"latency_p99_ms"`
	LatencyMaxMs    float64 `json:"latency_max_ms"`
	LatencyCount    int64   `json:"latency_records"`
	EndpointRecPerS float64 `json:"endpoint_records_per_second,omitempty"` // with Limits, on the latency endpoint after start-up
	ShareOfAPILimit float64 `json:"share_of_api_limit,omitempty"`          // that over APILimit
	APILimitRecPerS float64 `json:"api_limit_records_per_second,omitempty"`
}

// APILimit is the most records a second the API takes on one event
// endpoint: full batches at the guide's request rate.
func APILimit() float64 {
	return float64(config.MaxBatchSize) * float64(optikpi.KindDeposit.RateLimit())
}

// ErrIncomplete is returned when the relay stopped without every record
// acknowledged and committed.
var ErrIncomplete = errors.New("bench: not every record was acknowledged and committed")

// Run starts a broker and an emulator, produces the traffic, runs the relay
// until every record is acknowledged, stops every process it started, and
// returns the report. Every child is stopped however Run returns.
func Run(ctx context.Context, opts Options) (rep *Report, err error) {
	opts.defaults()
	if opts.Executable == "" || opts.Config == "" {
		return nil, errors.New("bench: the executable and the configuration are required")
	}
	src, err := config.Load(opts.Config)
	if err != nil {
		return nil, err
	}
	// The relay would refuse a bad rule only once the backlog is loaded.
	if _, err := mapper.New(src); err != nil {
		return nil, err
	}
	if len(src.Destinations) != 1 {
		return nil, fmt.Errorf("bench: %s has %d destinations; the bench drives one emulator, so wants one", opts.Config, len(src.Destinations))
	}
	dir := opts.WorkDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "relay-bench-"); err != nil {
			return nil, err
		}
		defer func() {
			if err == nil {
				os.RemoveAll(dir)
			} else {
				err = fmt.Errorf("%w (logs in %s)", err, dir)
			}
		}()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}

	topics := demo.SourceTopics(src)
	kafkaArgs := []string{"dev", "kafka", "--listen", "127.0.0.1:0", "--topic", src.DLQ.Topic + ":1"}
	for _, t := range topics {
		kafkaArgs = append(kafkaArgs, "--topic", t+":"+strconv.Itoa(opts.Partitions))
	}
	kafka, line, err := startChild(ctx, dir, "kafka", opts.Executable, nil, "kafka listening on ", kafkaArgs...)
	if err != nil {
		return nil, err
	}
	defer kafka.stop(10 * time.Second)
	brokers := strings.TrimPrefix(line, "kafka listening on ")

	d := src.Destinations[0]
	// One P: the emulator stands in for a remote API and needs a fraction
	// of a CPU; a second P only adds wake-ups (futex, spinning threads)
	// that take CPU from the relay on the same machine.
	emuEnv := append([]string{tokenEnv + "=" + token, emulatorProcs}, opts.EmulatorEnv...)
	emu, emuURL, err := startChild(ctx, dir, "optikpi", opts.Executable, emuEnv, "http://",
		"dev", "optikpi", "--listen", "127.0.0.1:0", "--account-id", d.AccountID, "--workspace-id", d.WorkspaceID,
		"--validate", "off", "--keep-records", "off", "--track-delay", "on", "--rate-limit", onOff(opts.Limits))
	if err != nil {
		return nil, err
	}
	defer emu.stop(10 * time.Second)
	statsURL := emulator.StatsURL(emuURL)

	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfgPath, cfg, err := relayConfig(opts.Config, dir, brokers, emuURL, listen, opts.Limits)
	if err != nil {
		return nil, err
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	w := &watcher{opts: opts, adm: kadm.NewClient(cl), dlq: cfg.DLQ.Topic, statsURL: statsURL}

	linger := 5 * time.Millisecond
	if opts.Rate > 0 {
		linger = 0 // the latency measured starts at produce
	}
	prod, err := newProducer([]string{brokers}, opts.Seed, opts.Mix, linger)
	if err != nil {
		return nil, err
	}
	defer prod.close()
	w.prod = prod

	rep = &Report{Mode: "backlog", Traffic: "deposits", Limits: opts.Limits}
	if opts.Mix {
		rep.Traffic = "mix"
	}
	prodDone := make(chan error, 1)
	if opts.Rate <= 0 {
		go func() { prodDone <- prod.backlog(ctx, opts.Records) }()
		if err := w.preload(ctx, prodDone); err != nil {
			return rep, err
		}
		prodDone = nil
	} else {
		rep.Mode, rep.Rate = "rate", opts.Rate
	}

	start := time.Now()
	others := newCPUMeter(kafka, emu)
	relay, _, err := startChild(ctx, dir, "relay", opts.Executable, append([]string{tokenEnv + "=" + token}, opts.RelayEnv...), "", "run", "--config", cfgPath)
	if err != nil {
		return rep, err
	}
	defer relay.stop(cfg.Shutdown.Timeout + 5*time.Second)
	w.relay, w.others = relay, others
	if opts.Rate > 0 {
		if err := waitReady(ctx, "http://"+listen+"/readyz", relay); err != nil {
			return rep, err
		}
		start = time.Now()
		go func() { prodDone <- prod.steady(ctx, opts.Rate, opts.Duration) }()
	}
	win, err := w.drain(ctx, start, prodDone)
	if err != nil {
		return rep, err
	}

	// The relay drains and commits on SIGTERM; only then is the backlog
	// committed, and only then is its usage final.
	stopErr := relay.stop(cfg.Shutdown.Timeout + 5*time.Second)
	relayCPU, rss := usage(relay.cmd.ProcessState)
	use := cpuUse{relay: relayCPU, broker: -1, emulator: -1}
	if used, ok := others.used(); ok {
		use.broker, use.emulator = used[0], used[1]
	}
	st, err := w.stats(ctx)
	if err != nil {
		return rep, err
	}
	dead, err := w.deadLettered(ctx)
	if err != nil {
		return rep, err
	}
	gaps, err := pipeline.Uncommitted(ctx, w.adm, cfg.Kafka.Group, topics)
	if err != nil {
		return rep, err
	}
	rep.fill(prod, st, dead, start, win, rss, len(gaps) == 0)
	rep.fillCPU(use, runtime.NumCPU())
	if stopErr != nil {
		return rep, fmt.Errorf("bench: the relay did not stop cleanly: %w", stopErr)
	}
	if !rep.Committed || rep.Acknowledged < rep.Produced {
		return rep, fmt.Errorf("%w: %d of %d acknowledged, %d partitions not committed to their end", ErrIncomplete, rep.Acknowledged, rep.Produced, len(gaps))
	}
	return rep, nil
}

func (r *Report) fill(prod *producer, st emulator.Stats, dead int64, start time.Time, win window, rss int64, committed bool) {
	total := st.Total()
	r.Produced, r.Skipped = prod.count(), prod.skipped.Load()
	r.Delivered, r.DeadLettered = total.RecordsAccepted, dead
	r.Acknowledged = r.Delivered + r.DeadLettered + r.Skipped
	r.Seconds = win.last.Sub(start).Seconds()
	r.StartupSeconds = win.first.Sub(start).Seconds()
	if r.Seconds > 0 {
		r.RecordsPerS = float64(r.Acknowledged) / r.Seconds
	}
	r.Committed = committed
	r.PeakRSSBytes = rss
	r.Requests, r.Throttled = total.Requests, total.Throttled
	if total.Accepted > 0 {
		r.AvgBatch = float64(total.RecordsAccepted) / float64(total.Accepted)
	}
	ep := st.Endpoints[latencyEndpoint]
	r.LatencyEndpoint = latencyEndpoint
	if d := ep.Delay; d != nil {
		r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyMaxMs, r.LatencyCount = d.P50Ms, d.P99Ms, d.MaxMs, d.Count
	}
	// The API's share is over the steady part: from the first
	// acknowledgement, so that the relay's start-up does not count.
	if steady := win.last.Sub(win.first).Seconds(); r.Limits && steady > 0 {
		r.EndpointRecPerS = float64(ep.RecordsAccepted-win.firstEndpoint) / steady
		r.APILimitRecPerS = APILimit()
		r.ShareOfAPILimit = r.EndpointRecPerS / r.APILimitRecPerS
	}
}

// cpuUse is the CPU each process used over the relay's lifetime; -1 where
// it could not be measured.
type cpuUse struct{ relay, broker, emulator time.Duration }

// fillCPU sets the CPU of each process, per acknowledged record, and the
// ceiling that cpus CPUs put on records a second at their sum.
func (r *Report) fillCPU(use cpuUse, cpus int) {
	perRecord := func(cpu time.Duration) (seconds, micros float64) {
		if cpu < 0 || r.Acknowledged <= 0 {
			return 0, 0
		}
		return cpu.Seconds(), float64(cpu.Nanoseconds()) / 1e3 / float64(r.Acknowledged)
	}
	r.CPUSeconds, r.CPUMicrosPerRec = perRecord(use.relay)
	r.BrokerCPUSeconds, r.BrokerCPUMicrosPerRec = perRecord(use.broker)
	r.EmulatorCPUSeconds, r.EmulatorCPUMicrosPerRec = perRecord(use.emulator)
	r.CPUs = cpus
	r.CPUCeilingRecPerS = 0
	if r.CPUMicrosPerRec > 0 && r.BrokerCPUMicrosPerRec > 0 && r.EmulatorCPUMicrosPerRec > 0 {
		r.CPUCeilingRecPerS = float64(cpus) * 1e6 / r.cpuMicrosPerRec()
	}
}

// cpuMicrosPerRec is the three processes' CPU per record together.
func (r *Report) cpuMicrosPerRec() float64 {
	return r.CPUMicrosPerRec + r.BrokerCPUMicrosPerRec + r.EmulatorCPUMicrosPerRec
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitReady waits for the relay's /readyz to answer 200.
func waitReady(ctx context.Context, url string, relay *child) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if relay.exited() {
			return fmt.Errorf("bench: the relay exited: %s", relay.tail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: the relay was not ready after 60s: %s", relay.tail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

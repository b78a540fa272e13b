package pipeline_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/gen"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

// The fault suite runs the real pipeline against kfake and the emulator
// with one fault at a time and prints, per scenario, what was produced and
// where each record ended: delivered (once or more), dead-lettered (by
// reason) or lost. Lost must be 0 in every row, and the dead letters must be
// exactly the records the generator made bad, or the ones the scenario says
// it dead-letters on purpose.
//
//	go test ./internal/pipeline -run TestFaultSuite -v                  # one seed per scenario
//	go test ./internal/pipeline -run TestFaultSuite -v -faults.seeds=5  # or FAULT_SEEDS=5
var faultSeeds = flag.Int("faults.seeds", 0, "seeds per fault-suite scenario (default 1, or $FAULT_SEEDS)")

func seeds(t *testing.T) int {
	if *faultSeeds > 0 {
		return *faultSeeds
	}
	if s := os.Getenv("FAULT_SEEDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("FAULT_SEEDS=%q: want a positive number", s)
		}
		return n
	}
	return 1
}

// scenario is one fault and how the relay is driven through it.
type scenario struct {
	name       string
	partitions int32 // default 4
	records    int   // default 1500
	// adjust changes each emulator's configuration before it starts.
	adjust func(*emulator.Config)
	// setup runs after the records are produced and before the relay
	// starts: configuration, faults, a front.
	setup func(*faultRun)
	// drive runs the relay(s) until every record is committed; nil
	// starts one relay, waits for the commit and stops it.
	drive func(*faultRun)
	// expect rewrites what a record should become, for a scenario that
	// dead-letters records on purpose; nil keeps the generator's word.
	expect func(srcKey, gen.Expect) gen.Expect
	// dupsAllowed: the scenario may redeliver (a member lost its
	// partitions or a request timed out after it was applied).
	dupsAllowed bool
	note        string
	// check runs last, for what makes the scenario mean anything (the
	// emulator did throttle, the front did refuse).
	check func(*faultRun)
}

// faultRun is one scenario with one seed: the harness, the relays, and
// everything the relays said.
type faultRun struct {
	t      *testing.T
	h      *harness
	token  string
	faults []*kfake.FaultHandle
	front  *front
	notes  []string

	mu      sync.Mutex
	logs    lockedBuffer
	readyz  map[string]bool // distinct /readyz bodies
	metrics []string        // /metrics scrapes
	errs    []string        // errors returned to the caller
	relays  []*tracedRelay
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Sync() error { return nil }

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tracedRelay is a relay with its own registry and telemetry server,
// whose /readyz is polled for as long as it runs.
type tracedRelay struct {
	*relay
	reg      *prometheus.Registry
	srv      *telemetry.Server
	pollStop chan struct{}
	pollDone chan struct{}
	over     bool
}

// fault installs Kafka faults until the run's relays are stopped.
func (fr *faultRun) fault(fs ...kfake.Fault) *kfake.FaultHandle {
	fh := fr.h.cluster.Fault(fs...)
	fr.faults = append(fr.faults, fh)
	return fh
}

func (fr *faultRun) notef(format string, args ...any) {
	fr.notes = append(fr.notes, fmt.Sprintf(format, args...))
}

// start starts a relay whose logs (debug and up, as JSON and as console
// text), metrics and /readyz answers are captured.
func (fr *faultRun) start() *tracedRelay {
	fr.t.Helper()
	cfg := zap.NewProductionEncoderConfig()
	core := zapcore.NewTee(
		zapcore.NewCore(zapcore.NewJSONEncoder(cfg), &fr.logs, zapcore.DebugLevel),
		zapcore.NewCore(zapcore.NewConsoleEncoder(cfg), &fr.logs, zapcore.DebugLevel),
	)
	reg := prometheus.NewRegistry()
	r := fr.h.startWith(pipeline.Options{Logger: zap.New(core), Registerer: reg,
		// kgo waits at least MetadataMinAge (5s) between refreshes; a
		// NOT_LEADER answer waits for one. The suite counts where
		// records end, not how long a refresh takes.
		KafkaOpts: []kgo.Opt{kgo.MetadataMinAge(100 * time.Millisecond)}})
	srv, err := telemetry.Listen("127.0.0.1:0", reg, r.p, nil)
	if err != nil {
		fr.t.Fatal(err)
	}
	tr := &tracedRelay{relay: r, reg: reg, srv: srv, pollStop: make(chan struct{}), pollDone: make(chan struct{})}
	go func() {
		defer close(tr.pollDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			fr.get(srv, "/readyz")
			select {
			case <-tr.pollStop:
				return
			case <-tick.C:
			}
		}
	}()
	fr.mu.Lock()
	fr.relays = append(fr.relays, tr)
	fr.mu.Unlock()
	return tr
}

// get asks the telemetry server for path and keeps the answer.
func (fr *faultRun) get(srv *telemetry.Server, path string) {
	resp, err := http.Get("http://" + srv.Addr() + path)
	if err != nil {
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if path == "/readyz" {
		fr.readyz[resp.Status+" "+string(b)] = true
	} else {
		fr.metrics = append(fr.metrics, string(b))
	}
}

// finishTelemetry scrapes the metrics one last time and stops the probes.
func (fr *faultRun) finishTelemetry(tr *tracedRelay) {
	if tr.over {
		return
	}
	tr.over = true
	fr.get(tr.srv, "/metrics")
	close(tr.pollStop)
	<-tr.pollDone
	tr.srv.Close(fr.t.Context())
}

// stop drains tr gracefully, keeping what Run and Shutdown return.
func (fr *faultRun) stop(tr *tracedRelay) {
	fr.t.Helper()
	fr.finishTelemetry(tr)
	tr.cancel()
	if err := <-tr.done; err != nil {
		fr.keepErr(err)
		fr.t.Errorf("Run: %v", err)
	}
	tr.relay.done <- nil // for abort in Cleanup
	ctx, cancel := contextTimeout(20 * time.Second)
	defer cancel()
	if err := tr.p.Shutdown(ctx); err != nil {
		fr.keepErr(err)
		fr.t.Errorf("Shutdown: %v", err)
	}
}

// crash stops tr as kill -9 would.
func (fr *faultRun) crash(tr *tracedRelay) {
	fr.finishTelemetry(tr)
	tr.abort()
}

func (fr *faultRun) keepErr(err error) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	fr.errs = append(fr.errs, err.Error())
}

// front puts an HTTP server in front of the first destination's emulator,
// as a gateway or proxy would: answer, if set, may answer an ingest POST
// itself (it gets the POST's number, from 1); everything else is proxied.
type front struct {
	srv   *httptest.Server
	posts atomic.Int64
	// answered counts the POSTs the front answered itself.
	answered atomic.Int64
}

type frontAnswer func(r *http.Request, n int64) (status int, contentType, body string, ok bool)

func (fr *faultRun) withFront(answer frontAnswer, modify func(*http.Response) error) *front {
	fr.t.Helper()
	d := &fr.h.cfg.Destinations[0]
	target, err := url.Parse(strings.TrimSuffix(d.BaseURL, "/apigw/ingest"))
	if err != nil {
		fr.t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = modify
	f := &front{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && answer != nil {
			n := f.posts.Add(1)
			if status, ct, body, ok := answer(r, n); ok {
				io.Copy(io.Discard, r.Body)
				f.answered.Add(1)
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(status)
				io.WriteString(w, body)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	fr.t.Cleanup(f.srv.Close)
	d.BaseURL = f.srv.URL + "/apigw/ingest"
	fr.front = f
	return f
}

// newToken returns a token no output has any business holding, with a
// slash and dashes so that escaped forms (\/, \u002d) differ from it.
func newToken() string {
	var b [15]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return "optk-" + h[:10] + "/" + h[10:20] + "-" + h[20:]
}

// row is one line of the table.
type row struct {
	scenario            string
	seed                int64
	produced, delivered int
	duplicates          int // deliveries and dead letters beyond the first
	dead                map[failure.Reason]int
	lost                int
	note                string
}

func defaultDrive(fr *faultRun) {
	r := fr.start()
	fr.h.waitCommitted()
	fr.stop(r)
}

// runScenario runs sc with seed and returns its row; it fails the test on a
// lost record, a wrong dead letter, an unexpected duplicate or a token in
// anything the relay said.
func runScenario(t *testing.T, sc scenario, seed int64) row {
	token := newToken()
	partitions := cmpOr(sc.partitions, 4)
	h := newHarness(t, partitions, func(_ string, c *emulator.Config) {
		c.Token = token
		c.Seed = seed
		if sc.adjust != nil {
			sc.adjust(c)
		}
	})
	// Quick retries: the suite measures where records end, not backoff.
	h.cfg.Sink.Retry.InitialBackoff = 5 * time.Millisecond
	h.cfg.Sink.Retry.MaxBackoff = 200 * time.Millisecond
	fr := &faultRun{t: t, h: h, token: token, readyz: make(map[string]bool)}
	h.produce(cmpOr(sc.records, 1500), seed)
	if sc.expect != nil {
		h.mu.Lock()
		for k, e := range h.expect {
			h.expect[k] = sc.expect(k, e)
		}
		h.mu.Unlock()
	}
	if sc.setup != nil {
		sc.setup(fr)
	}
	drive := sc.drive
	if drive == nil {
		drive = defaultDrive
	}
	drive(fr)
	hits := 0
	for _, fh := range fr.faults {
		fh.Remove() // so the checks below read the topics undisturbed
		hits += fh.Hits()
	}
	if len(fr.faults) > 0 {
		// A fault that never fired proves nothing.
		if hits == 0 {
			t.Error("no injected Kafka fault was hit")
		}
		fr.notef("%d Kafka faults hit", hits)
	}
	if t.Failed() {
		return row{scenario: sc.name, seed: seed, note: "FAILED"}
	}
	if sc.check != nil {
		sc.check(fr)
	}
	rw := fr.tally(sc)
	rw.scenario, rw.seed = sc.name, seed
	fr.assertNoToken()
	return rw
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// tally compares where every record ended with where it should have.
func (fr *faultRun) tally(sc scenario) row {
	t, h := fr.t, fr.h
	rw := row{dead: make(map[failure.Reason]int), produced: len(h.expect)}
	atAPI := make(map[string]int)
	for _, k := range optikpi.Kinds() {
		for _, id := range h.emus.EventIDs(k) {
			atAPI[id]++
		}
	}
	dead := h.deadLetters()
	var omitted int
	for _, es := range dead {
		for _, e := range es {
			if e.ValueOmitted {
				omitted++
			}
		}
	}
	// Customers and extended attributes carry no event_id: counted per
	// model, as verify does.
	wantNoID := make(map[optikpi.Kind]int)
	for k, exp := range h.expect {
		entries := dead[k]
		if exp.Skipped {
			continue
		}
		if len(entries) > 1 {
			rw.duplicates += len(entries) - 1
		}
		if exp.Reason != "" {
			if len(entries) == 0 {
				rw.lost++
				t.Errorf("%v: bad record (want reason %s) is neither delivered nor dead-lettered", k, exp.Reason)
				continue
			}
			rw.dead[exp.Reason]++
			for _, e := range entries {
				if e.Reason != exp.Reason {
					t.Errorf("%v: dead-letter reason %s (%s); want %s", k, e.Reason, e.Message, exp.Reason)
				}
			}
			continue
		}
		if len(entries) > 0 {
			t.Errorf("%v: valid %s record dead-lettered: %s: %s", k, exp.Model, entries[0].Reason, entries[0].Message)
		}
		kind, err := optikpi.ParseKind(exp.Model)
		if err != nil {
			t.Fatalf("%v: model %q: %v", k, exp.Model, err)
		}
		if kind == optikpi.KindCustomer || kind == optikpi.KindExtAttributes {
			wantNoID[kind]++
			continue
		}
		id := exp.EventID
		if id == "" {
			id = mapper.DerivedEventID(k.topic, k.partition, k.offset)
		}
		switch n := atAPI[id]; {
		case n == 0:
			rw.lost++
			t.Errorf("%v: %s record %s never reached Optikpi", k, exp.Model, id)
		default:
			rw.delivered++
			rw.duplicates += n - 1
		}
	}
	for kind, want := range wantNoID {
		got := len(h.emus.EventIDs(kind))
		rw.delivered += min(got, want)
		rw.lost += max(want-got, 0)
		rw.duplicates += max(got-want, 0)
		if got < want {
			t.Errorf("%s records at Optikpi = %d; want %d", kind, got, want)
		}
	}
	for k := range dead {
		if _, ok := h.expect[k]; !ok {
			t.Errorf("%v: dead letter for a record never produced", k)
		}
	}
	if rw.duplicates > 0 && !sc.dupsAllowed {
		t.Errorf("%d duplicates; this scenario must deliver each record once", rw.duplicates)
	}
	if rw.lost != 0 {
		t.Errorf("lost %d records", rw.lost)
	}
	if omitted > 0 {
		fr.notef("%d dead letters without their value", omitted)
	}
	rw.note = strings.Join(append([]string{sc.note}, fr.notes...), "; ")
	rw.note = strings.TrimPrefix(rw.note, "; ")
	return rw
}

// assertNoToken looks for the token, its escaped forms and every 12-byte
// piece of it in everything the relays said: log lines, metrics, /readyz
// bodies, returned errors, and the dead-letter topic's keys, values and
// headers.
func (fr *faultRun) assertNoToken() {
	fr.t.Helper()
	fr.mu.Lock()
	sources := map[string]string{
		"logs":    fr.logs.String(),
		"metrics": strings.Join(fr.metrics, "\n"),
		"errors":  strings.Join(fr.errs, "\n"),
	}
	var ready []string
	for b := range fr.readyz {
		ready = append(ready, b)
	}
	fr.mu.Unlock()
	sources["/readyz"] = strings.Join(ready, "\n")
	sources["dead letters"] = fr.rawDeadLetters()
	if len(fr.logs.String()) == 0 || len(fr.metrics) == 0 || len(ready) == 0 {
		fr.t.Errorf("captured %d bytes of logs, %d metric scrapes, %d /readyz bodies: the capture is broken", len(fr.logs.String()), len(fr.metrics), len(ready))
	}
	for where, text := range sources {
		if piece := tokenPiece(text, fr.token); piece != "" {
			i := strings.Index(unescape(text), piece)
			from, to := max(i-80, 0), min(i+len(piece)+80, len(unescape(text)))
			fr.t.Errorf("%s hold a piece of the token (%q): …%s…", where, piece, unescape(text)[from:to])
		}
	}
}

// tokenPiece returns the first piece of token, 12 bytes or longer, that
// text holds raw or escaped as JSON (\uXXXX, \/) or in a URL (%2F), or "".
func tokenPiece(text, token string) string {
	const piece = 12
	plain := unescape(text)
	for i := 0; i+piece <= len(token); i++ {
		if p := token[i : i+piece]; strings.Contains(plain, p) {
			return p
		}
	}
	return ""
}

// unescape undoes the escapes a JSON encoder, a logger or a URL may have
// applied, repeatedly, so that a token escaped twice is found too.
func unescape(s string) string {
	for range 3 {
		before := s
		s = strings.ReplaceAll(s, `\\`, `\`)
		s = strings.ReplaceAll(s, `\/`, `/`)
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+6 <= len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
				if n, err := strconv.ParseUint(s[i+2:i+6], 16, 32); err == nil {
					b.WriteRune(rune(n))
					i += 5
					continue
				}
			}
			if s[i] == '%' && i+2 < len(s) {
				if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b.WriteByte(byte(n))
					i += 2
					continue
				}
			}
			b.WriteByte(s[i])
		}
		s = b.String()
		if s == before {
			break
		}
	}
	return s
}

// rawDeadLetters returns every dead letter's key, value and headers as
// text.
func (fr *faultRun) rawDeadLetters() string {
	h := fr.h
	ends, err := h.adm.ListEndOffsets(fr.t.Context(), h.cfg.DLQ.Topic)
	if err != nil {
		fr.t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total == 0 {
		return ""
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.cfg.Kafka.Brokers...), kgo.ConsumeTopics(h.cfg.DLQ.Topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		fr.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := contextTimeout(60 * time.Second)
	defer cancel()
	var b strings.Builder
	for n := int64(0); n < total; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			fr.t.Fatalf("read the dead-letter topic: %v", ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			fmt.Fprintf(&b, "%s\t%s\n", r.Key, r.Value)
			for _, hd := range r.Headers {
				fmt.Fprintf(&b, "%s: %s\n", hd.Key, hd.Value)
			}
			if e, err := dlq.Parse(r); err != nil {
				fmt.Fprintf(&b, "parse: %v\n", err)
			} else {
				fmt.Fprintf(&b, "%s %s %s\n", e.Reason, e.Message, e.APIError)
			}
		})
	}
	return b.String()
}

// printTable logs the rows as a table.
func printTable(t *testing.T, rows []row) {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "scenario\tseed\tproduced\tdelivered unique\tduplicates\tdead-lettered by reason\tlost\tnote")
	for _, r := range rows {
		var dead []string
		for _, reason := range failure.Reasons() {
			if n := r.dead[reason]; n > 0 {
				dead = append(dead, fmt.Sprintf("%s=%d", reason, n))
			}
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s\n", r.scenario, r.seed, r.produced, r.delivered, r.duplicates, strings.Join(dead, " "), r.lost, r.note)
	}
	w.Flush()
	t.Log("\n" + b.String())
}

// TestFaultSuite: under each fault, no record is lost, the dead letters
// are exactly the bad records, and nothing the relay says holds its token.
func TestFaultSuite(t *testing.T) {
	runSuite(t, faultScenarios())
}

func runSuite(t *testing.T, scenarios []scenario) {
	if testing.Short() {
		t.Skip("the fault suite takes a minute; run it without -short")
	}
	n := seeds(t)
	var rows []row
	for i, sc := range scenarios {
		for s := range n {
			// The same scenario gets the same seeds whatever -run picks.
			seed := int64(1000*(s+1) + i)
			t.Run(fmt.Sprintf("%s/seed=%d", nonWord.ReplaceAllString(sc.name, "_"), seed), func(t *testing.T) {
				rows = append(rows, runScenario(t, sc, seed))
			})
		}
	}
	printTable(t, rows)
}

var (
	fetchKey  = []kmsg.Key{kmsg.Fetch}
	commitKey = []kmsg.Key{kmsg.OffsetCommit}
)

func faultScenarios() []scenario {
	return []scenario{
		{name: "no fault"},
		{
			name: "fetch errors",
			note: "9 fetches refused",
			setup: func(fr *faultRun) {
				// kgo waits seconds after each NOT_LEADER or storage error
				// before it fetches the partition again: a few of them.
				fr.fault(
					kfake.Fault{Keys: fetchKey, Topic: gen.TopicBets, Err: kerr.UnknownServerError, Count: 6},
					kfake.Fault{Keys: fetchKey, Err: kerr.NotLeaderForPartition, Count: 2},
					kfake.Fault{Keys: fetchKey, Err: kerr.KafkaStorageError, Count: 1},
				)
			},
		},
		{
			name: "commit failures",
			note: "8 commits refused",
			setup: func(fr *faultRun) {
				fr.fault(kfake.Fault{Keys: commitKey, Err: kerr.UnknownServerError, Count: 8})
			},
		},
		{
			name: "dead-letter produce failures",
			note: "8 dead-letter produce requests refused",
			setup: func(fr *faultRun) {
				fr.fault(
					kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: fr.h.cfg.DLQ.Topic, Err: kerr.NotLeaderForPartition, Count: 4},
					kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: fr.h.cfg.DLQ.Topic, Err: kerr.NotEnoughReplicas, Count: 4},
				)
			},
		},
		{
			name: "dead-letter MESSAGE_TOO_LARGE",
			note: "12 dead-letter produce requests refused as too large; after 3 refusals a dead letter goes without its value",
			setup: func(fr *faultRun) {
				fr.fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: fr.h.cfg.DLQ.Topic, Err: kerr.MessageTooLarge, Count: 12})
			},
		},
		{
			name:        "coordinator errors",
			note:        "NOT_COORDINATOR on heartbeats, joins and commits; a lost session redelivers",
			dupsAllowed: true,
			setup: func(fr *faultRun) {
				fr.fault(
					kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup}, Group: fr.h.cfg.Kafka.Group, TopLevel: true, Err: kerr.NotCoordinator, Count: 4},
					kfake.Fault{Keys: commitKey, Err: kerr.NotCoordinator, Count: 4},
				)
			},
		},
		{
			name:        "forced rebalance",
			note:        "REBALANCE_IN_PROGRESS on heartbeats while a second member joins",
			partitions:  6,
			dupsAllowed: true,
			drive: func(fr *faultRun) {
				a := fr.start()
				waitFor(fr.t, "a tenth done", func() (bool, string) {
					d := a.p.Stats().Done()
					return d >= int64(len(fr.h.expect)/10), fmt.Sprintf("%d done", d)
				})
				fh := fr.fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Heartbeat}, Group: fr.h.cfg.Kafka.Group, TopLevel: true, Err: kerr.RebalanceInProgress, Count: 3})
				b := fr.start()
				// Keep the stream flowing until the heartbeats were
				// refused and b has work: a heartbeat comes every 3s.
				waitFor(fr.t, "refused heartbeats and work for b", func() (bool, string) {
					hits, db := fh.Hits(), b.p.Stats().Done()
					if len(fr.h.expect) < 20000 {
						fr.h.produce(100, 0)
					}
					return hits >= 1 && db > 0, fmt.Sprintf("%d heartbeats refused, b %d done", hits, db)
				})
				fr.h.waitCommitted()
				fr.stop(a)
				fr.stop(b)
			},
		},
		{
			name:        "three members join and leave",
			note:        "a leaves gracefully, b crashes, c finishes",
			partitions:  6,
			records:     600,
			dupsAllowed: true,
			drive: func(fr *faultRun) {
				a := fr.start()
				b := fr.start()
				c := fr.start()
				waitFor(fr.t, "all three working", func() (bool, string) {
					fr.h.produce(150, 0)
					da, db, dc := a.p.Stats().Done(), b.p.Stats().Done(), c.p.Stats().Done()
					return (da > 0 && db > 0 && dc > 0) || len(fr.h.expect) >= 20000, fmt.Sprintf("a %d, b %d, c %d done", da, db, dc)
				})
				fr.stop(a)
				fr.h.produce(1000, 0)
				fr.crash(b)
				fr.h.produce(1000, 0)
				fr.h.waitCommitted()
				fr.stop(c)
			},
		},
		{
			name: "5xx storm",
			note: "90% 5xx until 20 failed, then 20%",
			adjust: func(c *emulator.Config) {
				c.FailRate = 0.9
			},
			drive: faultUntil("failed requests", 20, func(s emulator.EndpointStats) int64 { return s.Failed },
				func(em *emulator.Emulator) { em.SetFailRate(0.2) }),
		},
		throttled("429 with Retry-After", false),
		throttled("429 without Retry-After", true),
		{
			name:        "latency beyond the request timeout",
			note:        "1s latency, 300ms timeout, until 10 requests timed out; the emulator applies a request the client gave up on, so each retry redelivers",
			dupsAllowed: true,
			adjust: func(c *emulator.Config) {
				c.Latency = time.Second
			},
			setup: func(fr *faultRun) {
				fr.h.cfg.Sink.RequestTimeout = 300 * time.Millisecond
			},
			drive: faultUntil("requests", 10, func(s emulator.EndpointStats) int64 { return s.Requests },
				func(em *emulator.Emulator) {
					time.Sleep(time.Second) // the last of them times out
					em.SetLatency(0)
				}),
		},
		{
			name: "dropped connections",
			note: "30% of requests dropped without an answer",
			adjust: func(c *emulator.Config) {
				c.DropRate = 0.3
			},
			check: func(fr *faultRun) {
				if n := fr.h.emus.ByName["main"].Stats().Total().Dropped; n == 0 {
					fr.t.Error("the emulator dropped no connection")
				}
			},
		},
		poisoned(),
		{
			name: "non-API 400 from a proxy",
			note: "the first 20 requests answered 400 text/html: misconfigured, waited for, then delivered",
			setup: func(fr *faultRun) {
				fr.withFront(func(r *http.Request, n int64) (int, string, string, bool) {
					return http.StatusBadRequest, "text/html", "<html><body><h1>400 Bad Request</h1>nginx</body></html>", n <= 20
				}, nil)
			},
			check: func(fr *faultRun) {
				if n := fr.front.answered.Load(); n != 20 {
					fr.t.Errorf("the proxy refused %d requests; want 20", n)
				}
				fr.mu.Lock()
				defer fr.mu.Unlock()
				for b := range fr.readyz {
					if strings.HasPrefix(b, "503") {
						return
					}
				}
				fr.notef("/readyz never seen not ready")
			},
		},
		exhausted("retries exhausted", nil),
	}
}

// faultUntil starts one relay, waits until the emulator has counted n of
// what count reads, calls ease and lets the relay finish.
func faultUntil(what string, n int64, count func(emulator.EndpointStats) int64, ease func(*emulator.Emulator)) func(*faultRun) {
	return func(fr *faultRun) {
		r := fr.start()
		em := fr.h.emus.ByName["main"]
		waitFor(fr.t, fmt.Sprint(n, " ", what), func() (bool, string) {
			got := count(em.Stats().Total())
			return got >= n, fmt.Sprint(got, " ", what)
		})
		ease(em)
		fr.h.waitCommitted()
		fr.stop(r)
	}
}

// throttled drives the relay faster than the emulator's rate limits allow.
func throttled(name string, noRetryAfter bool) scenario {
	return scenario{
		name: name,
		note: "the emulator at a fifth of the guide's limits without burst, the relay at 10x them",
		adjust: func(c *emulator.Config) {
			c.RateLimit = true
			c.RateLimitScale = 0.2
			// Without burst, two requests closer than the limit's interval
			// meet a 429 however slowly a loaded machine runs the relay.
			c.RateLimitBurst = 1
			c.NoRetryAfter = noRetryAfter
		},
		setup: func(fr *faultRun) {
			fr.h.cfg.Sink.BatchSize = 5
			fr.h.cfg.Sink.RateLimits = map[string]float64{}
			for _, k := range optikpi.Kinds() {
				fr.h.cfg.Sink.RateLimits[k.String()] = 10 * float64(k.RateLimit())
			}
		},
		check: func(fr *faultRun) {
			if n := fr.h.emus.ByName["main"].Stats().Total().Throttled; n == 0 {
				fr.t.Error("the emulator throttled no request")
			} else {
				fr.notef("%d requests throttled", n)
			}
		},
	}
}

// poisoned makes the emulator refuse one valid event record in 25, so that
// batches meet a bad record in their middle.
func poisoned() scenario {
	var mu sync.Mutex
	poison := make(map[string]bool)
	return scenario{
		name: "poisoned records mid-batch",
		note: "1 valid event in 25 refused by the API",
		adjust: func(c *emulator.Config) {
			c.Reject = func(_ optikpi.Kind, r optikpi.Record) string {
				id, _ := r["event_id"].(string)
				mu.Lock()
				defer mu.Unlock()
				if poison[id] {
					return "poisoned by the fault suite"
				}
				return ""
			}
		},
		expect: func(k srcKey, e gen.Expect) gen.Expect {
			if e.Reason != "" || e.EventID == "" || k.offset%25 != 7 {
				return e
			}
			mu.Lock()
			poison[e.EventID] = true
			mu.Unlock()
			return gen.Expect{Reason: failure.Rejected, EventID: e.EventID}
		},
	}
}

// exhausted answers every deposit request 503 through a front, with retries
// bounded: every record routed to deposits is dead-lettered as
// retries_exhausted, on purpose. body, if set, makes the 503's body from
// the token.
func exhausted(name string, body func(token string) string) scenario {
	return scenario{
		name: name,
		note: "on purpose: /events/deposit always 503, max_attempts 2, so every deposit (and refused-to-be negative deposit) is retries_exhausted",
		setup: func(fr *faultRun) {
			fr.h.cfg.Sink.Retry.MaxAttempts = 2
			b := `{"error":"Service Unavailable","message":"deposits are down"}`
			if body != nil {
				b = body(fr.token)
			}
			fr.withFront(func(r *http.Request, _ int64) (int, string, string, bool) {
				return http.StatusServiceUnavailable, "application/json", b, strings.HasSuffix(r.URL.Path, optikpi.KindDeposit.Endpoint())
			}, nil)
		},
		expect: func(_ srcKey, e gen.Expect) gen.Expect {
			// The generator's refused records are negative deposits: they
			// never reach the check that would refuse them.
			if e.Model == optikpi.KindDeposit.String() || e.Reason == failure.Rejected {
				return gen.Expect{Reason: failure.RetriesExhausted, EventID: e.EventID}
			}
			return e
		},
	}
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

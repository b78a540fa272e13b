package pipeline_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/optikpi/optikpi-relay/internal/pipeline"
	"github.com/optikpi/optikpi-relay/internal/telemetry"
)

const (
	dashboardFile = "../../deploy/grafana/optikpi-relay.json"
	rulesFile     = "../../deploy/kubernetes/prometheusrule.yaml"
)

// metricName finds the relay's metric names in a PromQL expression. Every
// metric the relay serves has the prefix; up, which Prometheus makes, is the
// only other name the dashboard and the alerts read.
var metricName = regexp.MustCompile(`\b` + telemetry.Namespace + `_[a-zA-Z0-9_]+`)

// TestDashboardAndAlertsQueryServedMetrics: every metric the Grafana
// dashboard and the alert rules query is served by a running relay's
// /metrics, after it relayed good and bad records. A renamed metric, or a
// query with a typo, would otherwise show an empty panel or an alert that
// can never fire.
func TestDashboardAndAlertsQueryServedMetrics(t *testing.T) {
	queried := make(map[string][]string) // metric -> where
	for _, q := range dashboardQueries(t) {
		for _, m := range metricName.FindAllString(q.expr, -1) {
			queried[m] = append(queried[m], "dashboard: "+q.where)
		}
	}
	for _, r := range alertRules(t) {
		for _, m := range metricName.FindAllString(r.Expr, -1) {
			queried[m] = append(queried[m], "alert "+r.Alert)
		}
	}
	if len(queried) < 10 {
		t.Fatalf("found only %d metric names in the dashboard and rules: %v", len(queried), queried)
	}

	h := newHarness(t, 2, nil)
	h.produce(300, 11)
	reg := telemetry.NewRegistry()
	r := h.startWith(pipeline.Options{Registerer: reg, LagInterval: 100 * time.Millisecond})
	srv, err := telemetry.Listen("127.0.0.1:0", reg, r.p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(t.Context())
	h.waitCommitted()

	var served map[string]bool
	waitFor(t, "every queried metric on /metrics", func() (bool, string) {
		served = scrape(t, "http://"+srv.Addr()+"/metrics")
		var missing []string
		for m := range queried {
			if !served[m] {
				missing = append(missing, m)
			}
		}
		slices.Sort(missing)
		return len(missing) == 0, "missing: " + strings.Join(missing, ", ")
	})
	for m, where := range queried {
		if !served[m] {
			t.Errorf("%s, queried by %v, is not on /metrics", m, where)
		}
	}
	if !served[telemetry.Namespace+"_build_info"] {
		t.Errorf("%s_build_info is not on /metrics", telemetry.Namespace)
	}
	r.stop(t)
	h.verify(true)
}

// TestStallMetrics is the stall of issue 9: Optikpi fails every request,
// fetching pauses at max_in_flight_records, and more records arrive. The
// broker-side group lag follows them (the fetch-based lag cannot), and the
// oldest unfinished record ages; once Optikpi answers, both fall to 0.
func TestStallMetrics(t *testing.T) {
	const maxInFlight = 50
	h := newHarness(t, 2, nil)
	h.cfg.Kafka.MaxInFlightRecords = maxInFlight
	h.cfg.Sink.Retry.InitialBackoff = 50 * time.Millisecond // heal quickly
	h.cfg.Sink.Retry.MaxBackoff = 100 * time.Millisecond
	em := h.emus.ByName["main"]
	em.SetFailRate(1)
	h.produce(1000, 12)
	reg := telemetry.NewRegistry()
	r := h.startWith(pipeline.Options{Registerer: reg, LagInterval: 100 * time.Millisecond})

	sum := func(prefix string) (total, maxV float64) {
		values := gather(t, reg)
		for series, v := range values {
			if strings.HasPrefix(series, prefix+"{") || series == prefix {
				total += v
				maxV = max(maxV, v)
			}
		}
		return total, maxV
	}
	// Records of a partition holding its share of the bound wait, not in
	// flight, but take room from polling all the same.
	waitFor(t, "fetching paused at max_in_flight_records", func() (bool, string) {
		n, _ := sum("optikpi_relay_consumer_records_in_flight")
		w := r.p.Consumer().Stats().Waiting
		return n+float64(w) == maxInFlight, fmt.Sprint("in flight ", n, ", waiting ", w)
	})
	h.produce(1000, 0)
	// At most maxInFlight records per partition can have been finished
	// (dead-lettered or skipped) and committed past.
	waitFor(t, "group lag to follow production while paused", func() (bool, string) {
		lag, _ := sum("optikpi_relay_consumer_group_lag")
		return lag >= 2000-2*maxInFlight, fmt.Sprint("group lag ", lag)
	})
	if n, _ := sum("optikpi_relay_consumer_records_in_flight"); n > maxInFlight {
		t.Errorf("records in flight %v while paused; want at most %d", n, maxInFlight)
	}
	waitFor(t, "the oldest unfinished record to age", func() (bool, string) {
		_, age := sum("optikpi_relay_consumer_oldest_unfinished_seconds")
		return age >= 0.5, fmt.Sprint("oldest ", age, "s")
	})

	em.SetFailRate(0)
	h.waitCommitted()
	waitFor(t, "group lag and oldest age back to 0", func() (bool, string) {
		lag, _ := sum("optikpi_relay_consumer_group_lag")
		_, age := sum("optikpi_relay_consumer_oldest_unfinished_seconds")
		return lag == 0 && age == 0, fmt.Sprintf("group lag %v, oldest %vs", lag, age)
	})
	r.stop(t)
	h.verify(false)
}

// scrape returns the sample names on a /metrics page (histograms as their
// _bucket, _sum and _count series).
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := make(map[string]bool)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			out[line[:i]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type query struct{ where, expr string }

// dashboardQueries returns the expressions of the dashboard's panels and
// variables.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name  string
				Query json.RawMessage
			}
		}
	}
	decodeFile(t, dashboardFile, json.Unmarshal, &d)
	var out []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if !metricName.MatchString(tg.Expr) && !strings.Contains(tg.Expr, "up{") {
				t.Errorf("dashboard panel %q: query %q reads no metric of the relay", p.Title, tg.Expr)
			}
			out = append(out, query{p.Title, tg.Expr})
		}
	}
	for _, v := range d.Templating.List {
		out = append(out, query{"variable " + v.Name, string(v.Query)})
	}
	return out
}

type alertRule struct {
	Alert       string
	Expr        string
	Annotations map[string]string
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	var pr struct {
		Spec struct {
			Groups []struct{ Rules []alertRule }
		}
	}
	decodeFile(t, rulesFile, yaml.Unmarshal, &pr)
	var out []alertRule
	for _, g := range pr.Spec.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", rulesFile)
	}
	return out
}

// decodeFile reads path into v with decode (json.Unmarshal, yaml.Unmarshal).
func decodeFile(t *testing.T, path string, decode func([]byte, any) error, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

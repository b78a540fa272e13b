package pipeline_test

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	ruleTestsFile = "../../deploy/kubernetes/prometheusrule.test.yaml"
	runbookFile   = "../../docs/runbook.md"
	runbookBase   = "https://github.com/optikpi/optikpi-relay/blob/main/docs/runbook.md#"
)

// TestAlertsHaveRunbookAndTest: every alert links to its own section of
// docs/runbook.md, and prometheusrule.test.yaml expects it to fire at least
// once. promtool runs those tests (deploy/kubernetes/promtool.sh, in
// .ci/run); this test keeps an alert from shipping without one.
func TestAlertsHaveRunbookAndTest(t *testing.T) {
	runbook, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	headings := make(map[string]bool) // GitHub's anchors of "## " and "### " headings
	for line := range strings.Lines(string(runbook)) {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			headings[anchor(h)] = true
		} else if h, ok := strings.CutPrefix(line, "### "); ok {
			headings[anchor(h)] = true
		}
	}
	tested := firingTests(t)
	for _, r := range alertRules(t) {
		want := runbookBase + strings.ToLower(r.Alert)
		if got := r.Annotations["runbook_url"]; got != want {
			t.Errorf("alert %s: runbook_url = %q; want %q", r.Alert, got, want)
		}
		if !headings[strings.ToLower(r.Alert)] {
			t.Errorf("alert %s: %s has no section %q", r.Alert, runbookFile, "## "+r.Alert)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s: no summary or description", r.Alert)
		}
		if tested[r.Alert] == 0 {
			t.Errorf("alert %s: %s has no test where it fires", r.Alert, ruleTestsFile)
		}
	}
}

// anchor is GitHub's anchor of a Markdown heading: lower case, spaces to
// hyphens, punctuation other than hyphens and underscores dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// firingTests counts, per alert name, the promtool test cases that expect
// it to fire.
func firingTests(t *testing.T) map[string]int {
	t.Helper()
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		}
	}
	decodeFile(t, ruleTestsFile, yaml.Unmarshal, &tests)
	out := make(map[string]int)
	for _, tg := range tests.Tests {
		for _, at := range tg.AlertRuleTest {
			if len(at.ExpAlerts) > 0 {
				out[at.Alertname]++
			}
		}
	}
	return out
}

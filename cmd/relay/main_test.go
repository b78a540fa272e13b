package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// relay runs the command line in-process from the repository root, where
// the README's commands run.
func relay(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// The reference samples map, through the example config, to valid records
// of all nine models.
func TestMapTestReferenceSamples(t *testing.T) {
	files, err := filepath.Glob("../../testdata/events/*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	var all strings.Builder
	for _, f := range files {
		topic := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		code, out, errOut := relay(t, "", "map", "test", "--config", "config.example.yaml", "--topic", topic, "--file", filepath.Join("testdata/events", filepath.Base(f)))
		if code != 0 || !strings.Contains(out, " 0 failed") {
			t.Errorf("map test %s: exit %d, stderr %q, last lines %q", topic, code, errOut, tail(out, 3))
		}
		all.WriteString(out)
	}
	for _, k := range optikpi.Kinds() {
		if !strings.Contains(all.String(), "-> "+k.String()+" ("+k.Endpoint()+")") {
			t.Errorf("no sample maps to %s", k)
		}
	}
}

func TestMapTestFailureExitsNonZero(t *testing.T) {
	code, out, errOut := relay(t, "{\"type\":\"deposit.completed\"\nnot json\n", "map", "test", "--config", "config.example.yaml", "--topic", "payments")
	if code != 1 || !strings.Contains(out, "unparseable") || !strings.Contains(errOut, "failed") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, an unparseable line, and the count on stderr", code, out, errOut)
	}
}

func TestValidate(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(example), "linger: 200ms", "linger: 200 millis", 1)
	broken = strings.Replace(broken, "  group: optikpi-relay\n", "  group: optikpi-relay\n  gruop: x\n", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	// A time layout that is not Go's fails validate, not every record.
	layout := filepath.Join(t.TempDir(), "layout.yaml")
	const walletTime = "event_time: {path: changed_at, transform: unix_millis}"
	if err := os.WriteFile(layout, []byte(strings.Replace(string(example), walletTime,
		`event_time: {path: changed_at, transform: time_layout, layout: "YYYY-MM-DD hh:mm:ss", timezone_path: tz}`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	layoutLine := strings.Count(string(example)[:strings.Index(string(example), walletTime)], "\n") + 1
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyToken := filepath.Join(t.TempDir(), "empty-token.yaml")
	if err := os.WriteFile(emptyToken, []byte(strings.Replace(string(example), "token_env: OPTIKPI_TOKEN", "token_file: "+tokenFile, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPTIKPI_TOKEN", "")
	tokenLine := strings.Count(string(example)[:strings.Index(string(example), "token_env: OPTIKPI_TOKEN")], "\n") + 1
	tests := []struct {
		token    string // OPTIKPI_TOKEN
		args     []string
		wantCode int
		want     []string // in stdout+stderr
	}{
		{"T", []string{"validate", "--config", "config.example.yaml"}, 0, []string{"ok", "secrets and files resolved"}},
		{"", []string{"validate", "--config", "config.example.yaml"}, 1, []string{fmt.Sprintf("config.example.yaml:%d: destinations[0].token_env: token environment variable OPTIKPI_TOKEN is empty", tokenLine), "--no-secrets"}},
		{"", []string{"validate", "--no-secrets", "--config", "config.example.yaml"}, 0, []string{"ok", "secrets not checked"}},
		{"T", []string{"validate", "--config", emptyToken}, 1, []string{"destinations[0].token_file: token file " + tokenFile + " is empty"}},
		{"T", []string{"validate", "--config", bad}, 1, []string{"kafka.gruop: unknown key", "sink.linger: invalid duration"}},
		{"T", []string{"validate", "--config", layout}, 1, []string{fmt.Sprintf(`layout.yaml:%d: routing.routes[10].fields.event_time.layout: layout "YYYY-MM-DD hh:mm:ss" has no Go reference-time elements`, layoutLine), `(did you mean "2006-01-02 15:04:05"?)`}},
		{"T", []string{"validate"}, 2, []string{"--config is required"}},
		{"T", []string{"nonsense"}, 2, []string{"unknown command"}},
	}
	for _, tt := range tests {
		os.Setenv("OPTIKPI_TOKEN", tt.token) // restored by t.Setenv's cleanup
		code, out, errOut := relay(t, "", tt.args...)
		if code != tt.wantCode {
			t.Errorf("relay %v: exit %d, want %d (stderr %q)", tt.args, code, tt.wantCode, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(out+errOut, w) {
				t.Errorf("relay %v: output lacks %q: %s%s", tt.args, w, out, errOut)
			}
		}
	}
}

// Every command that loads a configuration refuses a bad rule before it
// starts anything, naming its file, line and key: the mapper's compile,
// not config.Parse, checks it.
func TestBadRuleFailsEveryCommand(t *testing.T) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const walletTime = "event_time: {path: changed_at, transform: unix_millis}"
	bad := filepath.Join(t.TempDir(), "rule.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(example), walletTime, "event_time: {path: changed_at, transform: unix_milis}", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(string(example)[:strings.Index(string(example), walletTime)], "\n") + 1
	want := fmt.Sprintf(`rule.yaml:%d: routing.routes[10].fields.event_time.transform[0]: unknown transform "unix_milis"`, line)
	t.Setenv("OPTIKPI_TOKEN", "T")
	for _, args := range [][]string{
		{"validate", "--no-secrets", "--config", bad},
		{"run", "--config", bad},
		{"map", "test", "--config", bad},
		{"dlq", "test", "--config", bad},
		{"dlq", "replay", "--config", bad},
		{"demo", "--records", "1", "--config", bad},
	} {
		code, out, errOut := relay(t, "", args...)
		if code != 1 || !strings.Contains(out+errOut, want) {
			t.Errorf("relay %v: exit %d, output %s%s; want 1 and %q", args, code, out, errOut, want)
		}
	}
}

// The README's first command, shortened, run outside the repository: the
// demo must reconcile.
func TestDemo(t *testing.T) {
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "--records", "3000", "--partitions", "3"}, strings.NewReader(""), &stdout, &stderr)
	out, errOut := stdout.String(), stderr.String()
	if code != 0 || !strings.Contains(out, "\nreconciled") {
		t.Errorf("demo: exit %d, stderr %q, output:\n%s", code, errOut, out)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Every command group and command answers --help with its usage and exit 0;
// a group without a command is a usage error.
func TestHelp(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		want     string // in stdout+stderr
	}{
		{[]string{"--help"}, 0, "relay run --config FILE"},
		{[]string{"map", "--help"}, 0, "relay map test --config FILE"},
		{[]string{"map", "-h"}, 0, "relay map test --config FILE"},
		{[]string{"map", "help"}, 0, "relay map test --config FILE"},
		{[]string{"dev", "--help"}, 0, "relay dev produce"},
		{[]string{"dev", "help"}, 0, "relay dev kafka"},
		{[]string{"map", "test", "--help"}, 0, "-topic"},
		{[]string{"dev", "kafka", "--help"}, 0, "-listen"},
		{[]string{"dev", "optikpi", "--help"}, 0, "-account-id"},
		{[]string{"dev", "produce", "--help"}, 0, "-brokers"},
		{[]string{"run", "--help"}, 0, "-config"},
		{[]string{"validate", "--help"}, 0, "-no-secrets"},
		{[]string{"demo", "--help"}, 0, "-records"},
		{[]string{"map"}, 2, "relay map test"},
		{[]string{"map", "tset"}, 2, `unknown command "tset"`},
		{[]string{"dev"}, 2, "relay dev optikpi"},
		{[]string{"dev", "zookeeper"}, 2, `unknown command "zookeeper"`},
	}
	for _, tt := range tests {
		code, out, errOut := relay(t, "", tt.args...)
		if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("relay %v: exit %d, output %q%q; want exit %d and %q", tt.args, code, out, errOut, tt.wantCode, tt.want)
		}
		if tt.wantCode == 0 && len(tt.args) == 2 && strings.Contains(errOut, "Usage:") {
			t.Errorf("relay %v: group help on stderr, want stdout", tt.args)
		}
	}
}

// run refuses a missing secret as validate does, naming the file, line and
// key, not only the pipeline's part of it.
func TestRunMissingSecretNamesLine(t *testing.T) {
	example, err := os.ReadFile("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Count(string(example)[:strings.Index(string(example), "token_env: OPTIKPI_TOKEN")], "\n") + 1
	t.Setenv("OPTIKPI_TOKEN", "")
	want := fmt.Sprintf("config.example.yaml:%d: destinations[0].token_env: token environment variable OPTIKPI_TOKEN is empty", line)
	for _, args := range [][]string{
		{"validate", "--config", "config.example.yaml"},
		{"run", "--config", "config.example.yaml"},
	} {
		code, out, errOut := relay(t, "", args...)
		if code != 1 || !strings.Contains(out+errOut, want) {
			t.Errorf("relay %v: exit %d, output %s%s; want 1 and %q", args, code, out, errOut, want)
		}
	}
}

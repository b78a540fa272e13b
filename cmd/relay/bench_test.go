package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/bench"
)

// buildRelay builds this command into a temporary directory: the bench
// re-runs its own binary, which a test binary is not.
func buildRelay(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the relay and runs three processes")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the bench measures and cleans up with Linux's /proc and process groups")
	}
	exe := filepath.Join(t.TempDir(), "relay")
	out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// running lists the processes running exe.
func running(t *testing.T, exe string) []string {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/exe")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, p := range procs {
		if target, err := os.Readlink(p); err == nil && target == exe {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

// noneLeft fails unless every process of exe is gone (within a moment:
// the kernel reaps asynchronously).
func noneLeft(t *testing.T, exe string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := running(t, exe)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes of %s still running: %v", exe, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestBench(t *testing.T) {
	exe := buildRelay(t)
	t.Run("backlog", func(t *testing.T) { testBenchBacklog(t, exe) })
	t.Run("interrupt", func(t *testing.T) { testBenchInterrupt(t, exe) })
}

// A tiny backlog, end to end through three processes: every record is
// acknowledged and committed, the numbers are sane, and no process is left.
func testBenchBacklog(t *testing.T, exe string) {
	tmp := t.TempDir()
	jsonPath := filepath.Join(tmp, "report.json")
	relayProf, emuProf := filepath.Join(tmp, "relay.prof"), filepath.Join(tmp, "emu.prof")
	cmd := exec.Command(exe, "bench", "--records", "2000", "--config", "../../config.example.yaml", "--json", jsonPath, "--work-dir", t.TempDir(),
		"--cpuprofile", relayProf, "--emulator-cpuprofile", emuProf)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("relay bench: %v\n%s", err, out)
	}
	noneLeft(t, exe)
	// Each process wrote its profile, whole (pprof's gzip), as it stopped.
	for _, p := range []string{relayProf, emuProf} {
		if b, err := os.ReadFile(p); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("profile %s: %d bytes, %v; want a gzipped pprof profile", p, len(b), err)
		}
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("report %s: %v", b, err)
	}
	ceiling := float64(runtime.NumCPU()) * 1e6 / (r.CPUMicrosPerRec + r.BrokerCPUMicrosPerRec + r.EmulatorCPUMicrosPerRec)
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"produced 2000", r.Produced == 2000},
		{"acknowledged = delivered = produced", r.Acknowledged == r.Produced && r.Delivered == r.Produced && r.DeadLettered == 0},
		{"committed", r.Committed},
		{"records/s > 0", r.RecordsPerS > 0 && r.Seconds > 0},
		{"CPU > 0", r.CPUSeconds > 0 && r.CPUMicrosPerRec > 0},
		{"broker and emulator CPU > 0", r.BrokerCPUSeconds > 0 && r.BrokerCPUMicrosPerRec > 0 && r.EmulatorCPUSeconds > 0 && r.EmulatorCPUMicrosPerRec > 0},
		{"CPU ceiling = NumCPU / (relay + broker + emulator µs per record)", r.CPUs == runtime.NumCPU() && math.Abs(r.CPUCeilingRecPerS-ceiling) <= 1e-6*ceiling},
		{"peak RSS of at least 1 MiB", r.PeakRSSBytes >= 1<<20},
		{"requests >= 4 (2000 / 500)", r.Requests >= 4 && r.AvgBatch > 0 && r.AvgBatch <= 500},
		{"no 429s", r.Throttled == 0},
		{"latency of one deposit in 8, p50 <= p99 <= max", r.LatencyCount == 2000/8 && r.LatencyP50Ms <= r.LatencyP99Ms && r.LatencyP99Ms <= r.LatencyMaxMs},
	} {
		if !c.ok {
			t.Errorf("want %s; report %s", c.what, b)
		}
	}
	for _, want := range []string{"records/s", "[ok]", "broker", "emulator", "CPU ceiling"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("printed report lacks %q:\n%s", want, out)
		}
	}
}

// Ctrl-C while the relay runs stops the broker, the emulator and the relay.
func testBenchInterrupt(t *testing.T, exe string) {
	cmd := exec.Command(exe, "bench", "--rate", "500", "--duration", "1m", "--config", "../../config.example.yaml", "--work-dir", t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	// A progress line means all three children run.
	lines := bufio.NewScanner(stdout)
	for lines.Scan() && !strings.Contains(lines.Text(), "acknowledged") {
	}
	if got := len(running(t, exe)); got != 4 {
		t.Errorf("%d processes of the relay binary while the bench runs; want 4 (bench, kafka, optikpi, relay)", got)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
	}
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("bench after Ctrl-C: %v; want exit status 1 (interrupted)", err)
	}
	noneLeft(t, exe)
}

// A profile's file is checked before anything starts: its directory must
// be there, and the relay's and the emulator's profiles need two files.
func TestBenchProfileFlags(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--cpuprofile", "p.prof", "--emulator-cpuprofile", "./p.prof"}, "--emulator-cpuprofile: ./p.prof is --cpuprofile's file too"},
		{[]string{"--cpuprofile", filepath.Join(dir, "p.prof"), "--emulator-cpuprofile", "p.prof"}, "--emulator-cpuprofile: p.prof is --cpuprofile's file too"},
		{[]string{"--emulator-cpuprofile", filepath.Join(dir, "none", "emu.prof")}, "--emulator-cpuprofile: no directory " + filepath.Join(dir, "none")},
		{[]string{"--cpuprofile", "none/relay.prof"}, "--cpuprofile: no directory " + filepath.Join(dir, "none")},
	} {
		// A configuration that is not there: past the flags, the bench
		// stops at once without starting a process.
		args := append([]string{"--config", filepath.Join(dir, "missing.yaml")}, c.args...)
		var stdout, stderr strings.Builder
		err := cmdBench(t.Context(), args, &stdout, &stderr)
		if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("relay bench %q: %v, stderr %q; want a usage error saying %q", args, err, stderr.String(), c.want)
		}
	}
}

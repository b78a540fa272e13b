package main

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
)

func TestVersionCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	for _, want := range []string{
		"version  " + buildinfo.Version() + "\n",
		"commit   " + buildinfo.Commit(),
		"go       " + runtime.Version() + "\n",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("got %q, want it to contain %q", stdout.String(), want)
		}
	}
}

// TestDockerfileBuild runs the Dockerfile's own go build line, so the image's
// binary is known to be static and to report the version it was given.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the relay")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image is linux")
	}
	line := dockerfileGoBuild(t, "../../Dockerfile")
	out := filepath.Join(t.TempDir(), "relay")
	if !strings.Contains(line, "-o /out/relay") {
		t.Fatalf("Dockerfile's go build line does not write /out/relay: %s", line)
	}
	line = strings.Replace(line, "-o /out/relay", "-o "+out, 1)

	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "VERSION=v9.8.7-test", "COMMIT=0123456789abcdef")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, b)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("binary has a %v program header: not static, it would not run on distroless/static", p.Type)
		}
	}

	b, err := exec.Command(out, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("relay version: %v\n%s", err, b)
	}
	for _, want := range []string{"version  v9.8.7-test\n", "commit   0123456789abcdef\n"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("relay version printed %q, want it to contain %q", b, want)
		}
	}
}

// dockerfileGoBuild returns the shell command of the Dockerfile's RUN line
// that runs go build.
func dockerfileGoBuild(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if cmd, ok := strings.CutPrefix(l, "RUN "); ok && strings.Contains(cmd, "go build") {
			return cmd
		}
	}
	t.Fatalf("%s: no RUN line with go build", path)
	return ""
}

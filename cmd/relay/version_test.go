package main

import (
	"bytes"
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

package telemetry

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fakeRoot writes files (path relative to the root -> content) under a
// temporary directory standing for "/".
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCgroupMemoryLimit(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string]string
		want      int64
		wantFile  string
		wantError string
	}{
		{name: "no cgroup files", files: map[string]string{}},
		{name: "v2 namespaced: the mount's root is the container's",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "536870912\n",
			},
			want: 536870912, wantFile: "sys/fs/cgroup/memory.max"},
		{name: "v2 max",
			files: map[string]string{
				"proc/self/cgroup":         "0::/\n",
				"sys/fs/cgroup/memory.max": "max\n",
			},
			wantFile: "sys/fs/cgroup/memory.max"},
		{name: "v2 own cgroup below the mount wins",
			files: map[string]string{
				"proc/self/cgroup":                             "0::/kubepods/pod1/relay\n",
				"sys/fs/cgroup/memory.max":                     "max\n",
				"sys/fs/cgroup/kubepods/pod1/relay/memory.max": "1073741824\n",
			},
			want: 1073741824, wantFile: "sys/fs/cgroup/kubepods/pod1/relay/memory.max"},
		{name: "v1",
			files: map[string]string{
				"proc/self/cgroup":                                      "5:devices:/docker/abc\n4:memory:/docker/abc\n0::/\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes":            "9223372036854771712\n",
				"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "805306368\n",
			},
			want: 805306368, wantFile: "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes"},
		{name: "v1 with the memory controller listed beside others",
			files: map[string]string{
				"proc/self/cgroup": "3:cpu,memory:/a\n",
				"sys/fs/cgroup/memory/a/memory.limit_in_bytes": "268435456\n",
			},
			want: 268435456, wantFile: "sys/fs/cgroup/memory/a/memory.limit_in_bytes"},
		{name: "v1 unlimited",
			files: map[string]string{
				"proc/self/cgroup":                           "4:memory:/\n",
				"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
			},
			wantFile: "sys/fs/cgroup/memory/memory.limit_in_bytes"},
		{name: "v2 a parent's lower limit binds",
			files: map[string]string{
				"proc/self/cgroup":                                   "0::/relay.slice/relay.service\n",
				"sys/fs/cgroup/relay.slice/memory.max":               "268435456\n",
				"sys/fs/cgroup/relay.slice/relay.service/memory.max": "1073741824\n",
			},
			want: 268435456, wantFile: "sys/fs/cgroup/relay.slice/memory.max"},
		{name: "a path outside the namespace is not followed",
			files: map[string]string{
				"proc/self/cgroup":         "0::/../../elsewhere\n",
				"sys/fs/cgroup/memory.max": "536870912\n",
			},
			want: 536870912, wantFile: "sys/fs/cgroup/memory.max"},
		{name: "garbage is an error naming the file",
			files: map[string]string{
				"sys/fs/cgroup/memory.max": "lots\n",
			},
			wantFile: "sys/fs/cgroup/memory.max", wantError: `holds "lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeRoot(t, tt.files)
			got, file, err := CgroupMemoryLimit(root)
			var wantFile string
			if tt.wantFile != "" {
				wantFile = filepath.Join(root, tt.wantFile)
			}
			if got != tt.want || file != wantFile {
				t.Errorf("got %d from %q, want %d from %q", got, file, tt.want, wantFile)
			}
			switch {
			case tt.wantError == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantError != "" && (err == nil || !strings.Contains(err.Error(), tt.wantError)):
				t.Errorf("got error %v, want one containing %q", err, tt.wantError)
			}
		})
	}
}

func TestSetMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	limited := map[string]string{"sys/fs/cgroup/memory.max": "1000000000\n"}
	noEnv := func(string) string { return "" }

	tests := []struct {
		name    string
		files   map[string]string
		getenv  func(string) string
		want    int64
		wantLog string
	}{
		{"90% of the cgroup limit", limited, noEnv, 900000000, "memory limit set from the cgroup"},
		{"GOMEMLIMIT in the environment wins", limited,
			func(k string) string {
				if k == "GOMEMLIMIT" {
					return "300MiB"
				}
				return ""
			}, 0, "memory limit from GOMEMLIMIT"},
		{"no limit, nothing set", map[string]string{"sys/fs/cgroup/memory.max": "max\n"}, noEnv, 0, "no cgroup memory limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			debug.SetMemoryLimit(prev)
			core, logs := observer.New(zapcore.InfoLevel)
			got, err := SetMemoryLimit(fakeRoot(t, tt.files), tt.getenv, zap.New(core))
			if err != nil {
				t.Fatal(err)
			}
			runtimeLimit := debug.SetMemoryLimit(-1)
			wantRuntime := prev
			if tt.want != 0 {
				wantRuntime = tt.want
			}
			if got != tt.want || runtimeLimit != wantRuntime {
				t.Errorf("got %d, runtime limit %d; want %d, runtime limit %d", got, runtimeLimit, tt.want, wantRuntime)
			}
			if n := logs.FilterMessageSnippet(tt.wantLog).Len(); n != 1 {
				t.Errorf("got %d log lines containing %q, want 1 (logs: %v)", n, tt.wantLog, logs.All())
			}
		})
	}
}

package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFromBuild(t *testing.T) {
	stamped := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/optikpi/optikpi-relay", Version: "v0.0.0-20261129072700-6b9e4c1abcde+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "6b9e4c1abcdef0123456789abcdef0123456789a"},
			{Key: "vcs.time", Value: "2026-11-29T07:27:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name                    string
		linkVersion, linkCommit string
		bi                      *debug.BuildInfo
		want                    Info
	}{
		{"nothing recorded", "", "", nil,
			Info{Version: "dev", Commit: Unknown, GoVersion: runtime.Version()}},
		{"go run: (devel), no VCS", "", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{Version: "dev", Commit: Unknown, GoVersion: "go1.26.8"}},
		{"git checkout: VCS stamp", "", "", stamped,
			Info{Version: "v0.0.0-20261129072700-6b9e4c1abcde+dirty", Commit: "6b9e4c1abcdef0123456789abcdef0123456789a",
				Time: "2026-11-29T07:27:00Z", Modified: true, GoVersion: "go1.26.8"}},
		{"link-time values win", "v1.2.3", "0123abcd", stamped,
			Info{Version: "v1.2.3", Commit: "0123abcd", Time: "2026-11-29T07:27:00Z", Modified: true, GoVersion: "go1.26.8"}},
		{"docker build: -X only", "v1.2.3", "0123abcd", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			Info{Version: "v1.2.3", Commit: "0123abcd", GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fromBuild(tt.linkVersion, tt.linkCommit, tt.bi); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestAccessorsAgreeWithRead(t *testing.T) {
	info := Read()
	if Version() != info.Version || Commit() != info.Commit || GoVersion() != info.GoVersion {
		t.Errorf("got Version %q Commit %q GoVersion %q, want %+v", Version(), Commit(), GoVersion(), info)
	}
	if want := "optikpi-relay/" + info.Version; UserAgent() != want {
		t.Errorf("UserAgent() = %q, want %q", UserAgent(), want)
	}
}

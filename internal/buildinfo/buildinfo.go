// Package buildinfo reports the relay's version and the source it was built from.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Set at link time, as the Dockerfile does:
//
//	-ldflags "-X github.com/optikpi/optikpi-relay/internal/buildinfo.version=v1.2.3
//	          -X github.com/optikpi/optikpi-relay/internal/buildinfo.commit=0123abcd"
//
// Left empty, they come from what the Go toolchain recorded in the binary.
var (
	version string
	commit  string
)

// Unknown stands for a commit the build did not record (a build outside a
// git checkout, or with -buildvcs=false and no -X).
const Unknown = "unknown"

// Info describes the build.
type Info struct {
	// Version is the -X value, else the module version Go recorded (a tag,
	// or a pseudo-version from the VCS stamp), else "dev".
	Version string
	// Commit is the -X value, else vcs.revision, else Unknown.
	Commit string
	// Time is vcs.time (the commit's time, RFC 3339), or "" when not recorded.
	Time string
	// Modified reports vcs.modified: the work tree had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built the binary, e.g. "go1.26.8".
	GoVersion string
}

// Read returns the running binary's build information.
func Read() Info { return readOnce() }

var readOnce = sync.OnceValue(func() Info {
	bi, _ := debug.ReadBuildInfo() // nil when the binary has none
	return fromBuild(version, commit, bi)
})

// fromBuild merges the link-time values with what Go recorded; the link-time
// values win, since a build in a container often has no .git to stamp from.
func fromBuild(linkVersion, linkCommit string, bi *debug.BuildInfo) Info {
	info := Info{Version: linkVersion, Commit: linkCommit, GoVersion: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = Unknown
	}
	return info
}

// Version returns the relay's version (see Info.Version).
func Version() string { return Read().Version }

// Commit returns the commit the relay was built from (see Info.Commit).
func Commit() string { return Read().Commit }

// GoVersion returns the Go toolchain that built the relay.
func GoVersion() string { return Read().GoVersion }

// UserAgent is the User-Agent the relay sends to Optikpi.
func UserAgent() string { return "optikpi-relay/" + Version() }

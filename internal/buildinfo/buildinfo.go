// Package buildinfo reports the relay's version.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// version is set at link time: -ldflags "-X github.com/optikpi/optikpi-relay/internal/buildinfo.version=v1.2.3".
var version string

// Version returns the relay's version: the link-time value, else the module
// version Go recorded, else "dev".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Commit returns the VCS revision Go recorded in the binary, or "unknown".
func Commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && s.Value != "" {
				return s.Value
			}
		}
	}
	return "unknown"
}

// GoVersion returns the Go toolchain that built the relay.
func GoVersion() string { return runtime.Version() }

// UserAgent is the User-Agent the relay sends to Optikpi.
func UserAgent() string { return "optikpi-relay/" + Version() }

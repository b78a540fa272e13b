package main

import (
	"fmt"
	"io"

	"github.com/optikpi/optikpi-relay/internal/buildinfo"
)

// cmdVersion prints the build: what to quote in a bug report, and what the
// build_info metric carries.
func cmdVersion(args []string, stdout, stderr io.Writer) error {
	if err := parse(newFlags("version", stderr), args); err != nil {
		return err
	}
	info := buildinfo.Read()
	commit := info.Commit
	if info.Modified {
		commit += " (modified)"
	}
	fmt.Fprintf(stdout, "version  %s\ncommit   %s\n", info.Version, commit)
	if info.Time != "" {
		fmt.Fprintf(stdout, "time     %s\n", info.Time)
	}
	fmt.Fprintf(stdout, "go       %s\n", info.GoVersion)
	return nil
}

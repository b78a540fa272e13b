//go:build !linux

package bench

import (
	"os"
	"syscall"
	"time"
)

// Elsewhere than Linux the children share the bench's process group, are
// stopped by a kill, the relay's memory is not measured, and nor is the
// CPU of a process still running.

func procAttr() *syscall.SysProcAttr { return nil }

func terminate(p *os.Process) error { return p.Signal(os.Interrupt) }

func usage(ps *os.ProcessState) (cpu time.Duration, peakRSS int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}

func cpuUsed(int) (time.Duration, bool) { return 0, false }

func sample(int) (time.Duration, int64, bool) { return 0, 0, false }

package bench

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// usage is what an exited process used: user plus system CPU, and its
// peak resident set (ru_maxrss, KiB on Linux).
func usage(ps *os.ProcessState) (cpu time.Duration, peakRSS int64) {
	cpu = ps.UserTime() + ps.SystemTime()
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		peakRSS = ru.Maxrss << 10
	}
	return cpu, peakRSS
}

// cpuUsed is the CPU a running process has used so far, user plus system,
// over all its threads, living and ended: its process CPU clock, to the
// nanosecond, the count its rusage gives at its exit (utime+stime are that
// clock split). /proc/PID/stat's times have 10 ms ticks, too coarse for a
// short run. ok is false if it cannot be read, as when the process has gone.
func cpuUsed(pid int) (cpu time.Duration, ok bool) {
	if pid <= 0 {
		return 0, false // 0 would be this process
	}
	// clock_getcpuclockid(3): CPUCLOCK_SCHED (2) of process pid.
	clock := uintptr(^pid<<3 | 2)
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// sample reads a running process's CPU so far (cpuUsed) and its peak
// resident set (VmHWM) from /proc, for the progress lines; ok is false if
// it cannot.
func sample(pid int) (cpu time.Duration, peakRSS int64, ok bool) {
	if cpu, ok = cpuUsed(pid); !ok {
		return 0, 0, false
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return cpu, 0, true
	}
	for line := range strings.Lines(string(status)) {
		if rest, found := strings.CutPrefix(line, "VmHWM:"); found {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			peakRSS = kb << 10
		}
	}
	return cpu, peakRSS, true
}

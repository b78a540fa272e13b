package bench

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuUsed counts every thread of a process, as its rusage does: two
// goroutines burn CPU, and what cpuUsed saw them use is what getrusage saw.
func TestCPUUsed(t *testing.T) {
	rusage := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	clock := func() time.Duration {
		cpu, ok := cpuUsed(os.Getpid())
		if !ok {
			t.Fatal("cpuUsed of this process: not read")
		}
		return cpu
	}
	ru0, cl0 := rusage(), clock()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for clock()-cl0 < 200*time.Millisecond {
			}
		})
	}
	wg.Wait()
	ru, cl := rusage()-ru0, clock()-cl0
	if cl < 200*time.Millisecond || cl-ru > ru/10+10*time.Millisecond || ru-cl > ru/10+10*time.Millisecond {
		t.Errorf("cpuUsed counted %v, getrusage %v; want the same, at least 200ms", cl, ru)
	}
	// No process has pid_max as its id: ids are below it.
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	none, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{none, 0} {
		if cpu, ok := cpuUsed(pid); ok {
			t.Errorf("cpuUsed(%d), no process: %v, ok; want not ok", pid, cpu)
		}
	}
}

package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// child is a process the bench started; stop ends it and waits for it.
type child struct {
	name string
	cmd  *exec.Cmd
	log  string // file holding its output after the first line

	done    chan struct{} // closed when it has exited
	waitErr error
}

// startChild runs exe args. With a ready prefix, it waits for the first
// line of the child's stdout, which must start with it (the dev tools print
// their address once they listen), and returns the line; the rest of the
// output goes to dir/name.log. The child has a process group of its own, so a
// Ctrl-C at the terminal reaches only the bench, which stops it in order;
// on Linux it is also killed if the bench dies.
func startChild(ctx context.Context, dir, name, exe string, env []string, ready string, args ...string) (*child, string, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logFile
	cmd.SysProcAttr = procAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	first := make(chan string, 1)
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		first <- strings.TrimSpace(line)
		io.Copy(logFile, r)
	}()
	go func() {
		copied.Wait() // Wait closes stdout: read it all first
		c.waitErr = cmd.Wait()
		logFile.Close()
		close(c.done)
	}()
	if ready == "" {
		return c, "", nil
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case line := <-first:
		if strings.HasPrefix(line, ready) {
			return c, line, nil
		}
		c.stop(5 * time.Second) // so that its log is whole
		return nil, "", fmt.Errorf("%s said %q, not %q…: %s", name, line, ready, c.tail())
	case <-t.C:
		err = fmt.Errorf("%s not ready after 30s: %s", name, c.tail())
	case <-ctx.Done():
		err = ctx.Err()
	}
	c.stop(5 * time.Second)
	return nil, "", err
}

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop asks the child to end (SIGTERM, so a relay drains and commits),
// kills it after grace, and waits for it. It returns how it ended.
func (c *child) stop(grace time.Duration) error {
	if !c.exited() {
		if err := terminate(c.cmd.Process); err != nil {
			c.cmd.Process.Kill()
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			c.cmd.Process.Kill()
			<-c.done
		}
	}
	var exit *exec.ExitError
	if errors.As(c.waitErr, &exit) && !exit.Exited() {
		return fmt.Errorf("%s: %v", c.name, exit)
	}
	if c.waitErr != nil {
		return fmt.Errorf("%s: %w: %s", c.name, c.waitErr, c.tail())
	}
	return nil
}

// tail is the end of the child's log, for an error message.
func (c *child) tail() string {
	b, err := os.ReadFile(c.log)
	if err != nil {
		return "(no log)"
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	if s == "" {
		return "(log empty)"
	}
	return s
}

// cpuMeter measures the CPU running children use from when it is made: the
// broker's and the emulator's over the relay's lifetime, the window of the
// relay's own rusage.
type cpuMeter struct {
	kids []*child
	from []time.Duration
	ok   bool
}

func newCPUMeter(kids ...*child) *cpuMeter {
	m := &cpuMeter{kids: kids, from: make([]time.Duration, len(kids)), ok: true}
	for i, c := range kids {
		var ok bool
		m.from[i], ok = cpuUsed(c.cmd.Process.Pid)
		m.ok = m.ok && ok
	}
	return m
}

// used is what each child has used since the meter was made, in the order
// given to it; ok is false if any of them cannot be read (not on Linux, or
// a child has exited).
func (m *cpuMeter) used() (used []time.Duration, ok bool) {
	if !m.ok {
		return nil, false
	}
	used = make([]time.Duration, len(m.kids))
	for i, c := range m.kids {
		now, ok := cpuUsed(c.cmd.Process.Pid)
		if !ok {
			return nil, false
		}
		used[i] = now - m.from[i]
	}
	return used, true
}

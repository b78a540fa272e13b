package telemetry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// MemLimitFraction is the share of the container's memory limit given to
// the Go runtime as its soft limit: the rest is headroom for what the
// runtime does not count (the kernel's page cache and socket buffers are
// charged to the cgroup), so the GC works harder before the OOM killer acts.
const MemLimitFraction = 0.9

// LimitedGOGC is the GC percent relay run sets when a memory limit is in
// force (from the cgroup or GOMEMLIMIT) and GOGC is not set: the heap may
// grow to three times what is live between two collections, half as many
// collections as Go's default 100, and the limit bounds that growth. With
// no limit Go's 100 stays: a high GOGC alone grows memory with the live
// heap, unbounded.
//
// Chosen with relay bench (1,000,000 records on 6 partitions, 256 KiB
// partition fetches, 2 CPUs shared with other work so records/s is noisy,
// one run each; --relay-env GOGC=... GOMEMLIMIT=... and GODEBUG=gctrace=1
// for the collections):
//
//	traffic   GOGC, GOMEMLIMIT   records/s  relay CPU-µs/record  peak RSS  GCs
//	deposits  100                 98,500     7.7                  74 MiB    96
//	deposits  100, again          81,900     7.3                  69 MiB    92
//	deposits  200                115,500     6.8                  93 MiB    44
//	deposits  off, 100MiB         95,200     7.1                 108 MiB    19
//	mix       100                 38,900    13.8                 228 MiB    35
//	mix       200                 48,400    11.4                 330 MiB    15
//	mix       200, 230MiB         52,900    12.5                 234 MiB    17
//
// With kgo's 1 MiB partition fetches (more live heap) deposits took 134–137
// MiB at GOGC 100, 192 MiB at 200 and 306 MiB at 400 for no CPU gain (8.2,
// 8.2, 8.4 µs/record); GOGC=off with an 80MiB limit collected 67 times for
// 1.6 s of CPU, a fifth of the relay's. So: a higher GOGC under a limit,
// never GOGC=off, which would fill any limit and then collect in a hurry.
const LimitedGOGC = 200

// SetGCPercent sets the GC percent to LimitedGOGC when a memory limit is
// in force in the runtime (SetMemoryLimit's, or GOMEMLIMIT's unless it is
// "off") and GOGC is not set in the environment, which the runtime has
// applied already and which wins. Call it after SetMemoryLimit. It returns
// the percent it set, 0 when it set none, and logs what it did.
func SetGCPercent(getenv func(string) string, logger *zap.Logger) int {
	switch v := getenv("GOGC"); {
	case v != "":
		logger.Info("GC percent from GOGC", zap.String("GOGC", v))
		return 0
	case debug.SetMemoryLimit(-1) == math.MaxInt64: // -1 reads it
		logger.Info("no memory limit: Go's default GC percent left as it is")
		return 0
	}
	debug.SetGCPercent(LimitedGOGC)
	logger.Info("GC percent set: a memory limit bounds the heap", zap.Int("gogc", LimitedGOGC))
	return LimitedGOGC
}

// v1 writes "no limit" as the largest page-aligned int64.
const cgroupV1Unlimited = 1 << 62

// SetMemoryLimit sets the Go runtime's soft memory limit to MemLimitFraction
// of the cgroup memory limit found under root ("/" in production), unless
// GOMEMLIMIT is set in the environment, which the runtime has applied
// already and which wins. It returns the limit it set, 0 when it set none,
// and logs what it did. An unreadable cgroup file is an error; no limit
// (cgroup v2 "max", v1's huge number, no cgroup files) is not.
func SetMemoryLimit(root string, getenv func(string) string, logger *zap.Logger) (int64, error) {
	if v := getenv("GOMEMLIMIT"); v != "" {
		logger.Info("memory limit from GOMEMLIMIT", zap.String("GOMEMLIMIT", v))
		return 0, nil
	}
	limit, file, err := CgroupMemoryLimit(root)
	if err != nil {
		return 0, err
	}
	if limit == 0 {
		logger.Info("no cgroup memory limit: Go's soft memory limit left unset")
		return 0, nil
	}
	soft := int64(float64(limit) * MemLimitFraction)
	debug.SetMemoryLimit(soft)
	logger.Info("memory limit set from the cgroup",
		zap.String("file", file),
		zap.Int64("cgroup_limit_bytes", limit),
		zap.Int64("gomemlimit_bytes", soft))
	return soft, nil
}

// CgroupMemoryLimit returns the memory limit of this process's cgroup under
// root and the file it came from, or 0 when there is none. It starts from
// the process's own cgroup (from /proc/self/cgroup; the mount's root under a
// cgroup namespace) and walks up to the mount's root, since a parent's
// limit binds too: the lowest wins. cgroup v2 (memory.max) is read before
// v1 (memory/memory.limit_in_bytes). With no limit, file names the first
// file that said so.
func CgroupMemoryLimit(root string) (limit int64, file string, err error) {
	fsys := os.DirFS(root)
	v2, v1 := ownCgroups(fsys)
	for _, h := range []struct{ mount, own, name string }{
		{"sys/fs/cgroup", v2, "memory.max"},
		{"sys/fs/cgroup/memory", v1, "memory.limit_in_bytes"},
	} {
		found := false
		for dir := path.Clean("/" + h.own); ; dir = path.Dir(dir) {
			full := path.Join(root, h.mount, dir, h.name)
			n, err := readLimit(fsys, path.Join(h.mount, dir, h.name))
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return 0, full, fmt.Errorf("telemetry: cgroup memory limit in %s: %w", full, err)
			default:
				if !found {
					found, file = true, full
				}
				if n > 0 && (limit == 0 || n < limit) {
					limit, file = n, full
				}
			}
			if dir == "/" {
				break
			}
		}
		if found {
			return limit, file, nil
		}
	}
	return 0, "", nil
}

// readLimit reads one limit file: 0 for no limit.
func readLimit(fsys fs.FS, name string) (int64, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return 0, err
	}
	s := string(bytes.TrimSpace(b))
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("holds %q, want a positive number of bytes or max", s)
	}
	if n >= cgroupV1Unlimited {
		return 0, nil
	}
	return n, nil
}

// ownCgroups returns the process's cgroup v2 path and v1 memory controller
// path from proc/self/cgroup, "" for each it does not find.
func ownCgroups(fsys fs.FS) (v2, v1 string) {
	f, err := fsys.Open("proc/self/cgroup")
	if err != nil {
		return "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if strings.Contains(parts[2], "..") {
			continue // a cgroup outside our namespace: not under our mount
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			v2 = parts[2]
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			v1 = parts[2]
		}
	}
	return v2, v1
}

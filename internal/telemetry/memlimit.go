package telemetry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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

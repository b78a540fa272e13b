package mapper

import (
	"bytes"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

func TestCheckObjectDepth(t *testing.T) {
	nest := func(n int) []byte {
		return []byte(`{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}
	for _, c := range []struct {
		name  string
		value []byte
		want  string
	}{
		{"at the limit", nest(MaxDepth), ""},
		{"one deeper", nest(MaxDepth + 1), "nested deeper than 512 arrays and objects"},
		{"2 MB of [", bytes.Repeat([]byte("["), 2<<20), "nested deeper than 512 arrays and objects"},
		{"brackets in strings do not count", []byte(`{"a":"` + strings.Repeat("[{", 4096) + `"}`), ""},
		{"escaped quote keeps the string open", []byte(`{"a":"\"` + strings.Repeat("[", 4096) + `"}`), ""},
		{"closing brackets first", []byte(`]]]]{}`), "not valid JSON"},
	} {
		if got := checkObject(c.value); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// TestDeepNestingStack maps 10 MB of '[' in a child process whose
// goroutine stacks may not exceed 8 MiB: a recursive parser run on it first
// would crash the child (Go's "stack exceeds limit" is fatal, not a panic).
func TestDeepNestingStack(t *testing.T) {
	if os.Getenv("MAPPER_DEEP_CHILD") == "1" {
		debug.SetMaxStack(8 << 20)
		if got := checkObject(bytes.Repeat([]byte("["), 10<<20)); !strings.Contains(got, "nested deeper") {
			t.Fatalf("got %q, want nested deeper", got)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDeepNestingStack$", "-test.v")
	cmd.Env = append(os.Environ(), "MAPPER_DEEP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%.2000s", err, out)
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("child did not pass:\n%.2000s", out)
	}
}

// checkObject is checkValue's message alone.
func checkObject(v []byte) string {
	msg, _ := checkValue(v)
	return msg
}

package dlq

import (
	"regexp"
	"strings"
	"testing"
)

// TestTopicNameAsBefore checks NewWriter's topic check against the one
// pattern it replaced, ^[a-zA-Z0-9._-]{1,249}$ besides "." and "..", over
// names of every length around the limits and of characters inside,
// outside and beyond ASCII.
func TestTopicNameAsBefore(t *testing.T) {
	old := regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)
	oldOK := func(s string) bool { return old.MatchString(s) && s != "." && s != ".." }
	var names []string
	for _, c := range []string{"a", "Z", "0", ".", "_", "-", " ", "/", "é", "\xff", "\n", "\x00", "日"} {
		for _, n := range []int{0, 1, 2, 3, 83, 124, 125, 247, 248, 249, 250, 251, 500} {
			s := strings.Repeat(c, n)
			names = append(names, s, "d"+s, s+"d")
			if n > 0 {
				names = append(names, strings.Repeat("d", n-1)+c, c+strings.Repeat("d", 248), strings.Repeat("d", 248)+c)
			}
		}
	}
	names = append(names, ".", "..", "...", "._", "-.", "dlq\n", "\ndlq")
	checked := 0
	for _, name := range names {
		_, err := NewWriter(nil, Options{Topic: name}) // nil client: never a Writer, each problem listed
		got := err == nil || !strings.Contains(err.Error(), "is not a valid Kafka topic name")
		if want := oldOK(name); got != want {
			t.Errorf("topic of %d bytes %.40q: got valid %v, want %v", len(name), name, got, want)
		}
		checked++
	}
	if checked < 500 {
		t.Errorf("checked %d names, want hundreds", checked)
	}
}

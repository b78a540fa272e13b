package config

import (
	"regexp"
	"strings"
	"testing"
)

// TestInstanceIDAsBefore checks validateGroup's instance id check against
// the one pattern it replaced, ^[A-Za-z0-9._-]{1,249}$ for an id given,
// over ids of every length around the limit and of characters inside,
// outside and beyond ASCII.
func TestInstanceIDAsBefore(t *testing.T) {
	old := regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`)
	var ids []string
	for _, c := range []string{"r", "Z", "9", ".", "_", "-", " ", "/", "é", "\xff", "\n", "\x00", "日"} {
		for _, n := range []int{1, 2, 83, 124, 125, 247, 248, 249, 250, 251, 500} {
			s := strings.Repeat(c, n)
			ids = append(ids, s, "r"+s, s+"r", strings.Repeat("r", n-1)+c, c+strings.Repeat("r", 248), strings.Repeat("r", 248)+c)
		}
	}
	ids = append(ids, ".", "..", "relay-0\n", "\nrelay-0")
	for _, id := range ids {
		k := Kafka{InstanceID: id, SessionTimeout: 45e9, RebalanceTimeout: 60e9, HeartbeatInterval: 3e9, Balancer: BalancerCooperativeSticky}
		p := &Problems{source: "test.yaml", lines: map[string]int{}}
		validateGroup(&k, p)
		if got, want := !p.reported("kafka.instance_id"), old.MatchString(id); got != want {
			t.Errorf("instance id of %d bytes %.40q: got valid %v, want %v", len(id), id, got, want)
		}
		if len(p.list) > 0 && !p.reported("kafka.instance_id") {
			t.Fatalf("problems besides the instance id: %v", p.list[0])
		}
	}
}

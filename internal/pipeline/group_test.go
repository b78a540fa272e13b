package pipeline_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/config"
)

// TestGroupSettingsReachKafka: kafka.instance_id and kafka.balancer reach
// the consumer's group membership, as the coordinator sees it.
func TestGroupSettingsReachKafka(t *testing.T) {
	h := newHarness(t, 2, nil)
	h.cfg.Kafka.InstanceID = "relay-0"
	h.cfg.Kafka.Balancer = config.BalancerRange
	r := h.start()
	defer r.stop(t)
	waitFor(t, "the group described with its member", func() (bool, string) {
		gs, err := h.adm.DescribeGroups(context.Background(), h.cfg.Kafka.Group)
		if err != nil {
			return false, err.Error()
		}
		g := gs[h.cfg.Kafka.Group]
		if g.Err != nil || len(g.Members) != 1 || g.State != "Stable" {
			return false, fmt.Sprintf("%+v", g)
		}
		m := g.Members[0]
		id := "<nil>"
		if m.InstanceID != nil {
			id = *m.InstanceID
		}
		if id != "relay-0" || g.Protocol != "range" {
			t.Fatalf("member instance id %s, protocol %s; want relay-0, range", id, g.Protocol)
		}
		return true, ""
	})
}

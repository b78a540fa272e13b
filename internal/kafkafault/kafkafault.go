// Package kafkafault injects broker faults into a kfake cluster for tests.
package kafkafault

import (
	"errors"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupKeys are the requests a consumer group member sends its coordinator.
var groupKeys = []kmsg.Key{kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup, kmsg.OffsetCommit, kmsg.OffsetFetch, kmsg.FindCoordinator}

// CoordinatorOutage makes c's group coordinator fail every request while
// down is set, as a broker that is down does: the connection closes.
// Fetches and produces still work.
func CoordinatorOutage(c *kfake.Cluster, down *atomic.Bool) {
	for _, key := range groupKeys {
		c.ControlKey(int16(key), func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			if down.Load() {
				return nil, errors.New("kafkafault: coordinator down"), true
			}
			return nil, nil, false
		})
	}
}

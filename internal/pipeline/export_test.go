package pipeline

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// SetRevokeTimeout sets how long a revoke waits for the records in flight,
// for tests of a revoke that gives up on them.
func SetRevokeTimeout(o *Options, d time.Duration) { o.revokeTimeout = d }

// SetMapHook makes p call hook on every record just before mapping it, inside
// the same panic guard: tests inject a relay bug with it.
func SetMapHook(p *Pipeline, hook func(*kgo.Record)) { p.mapHook = hook }

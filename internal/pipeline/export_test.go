package pipeline

import "time"

// SetRevokeTimeout sets how long a revoke waits for the records in flight,
// for tests of a revoke that gives up on them.
func SetRevokeTimeout(o *Options, d time.Duration) { o.revokeTimeout = d }

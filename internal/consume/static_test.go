package consume

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestStaticMemberRestart: a member killed without leaving the group (as
// kill -9 does) and restarted with the same InstanceID gets its partitions
// back at once, not after the session timeout; a dynamic member's restart
// waits for the dead member's session to expire.
func TestStaticMemberRestart(t *testing.T) {
	const (
		parts   = 2
		session = 20 * time.Second
	)
	e := newEnv(t, parts)
	// A crash sends no LeaveGroup: drop any.
	e.cluster.ControlKey(int16(kmsg.LeaveGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		e.cluster.KeepControl()
		return nil, errors.New("crashed"), true
	})
	o := Options{InstanceID: "relay-0", SessionTimeout: session, RebalanceTimeout: session}
	e.produce(parts, 1)
	a := e.consumer("g", o)
	sa := newSink()
	waitA := run(t, a, sa.handle)
	waitFor(t, "first member handed both partitions", func() (bool, string) { return sa.count() == parts, fmt.Sprint(sa.count()) })
	a.Abort()
	waitA()

	start := time.Now()
	b := e.consumer("g", o)
	sb := newSink()
	waitB := run(t, b, sb.handle)
	// Nothing was done: the restarted member reads both records again.
	waitFor(t, "restarted member handed both partitions", func() (bool, string) { return sb.count() == parts, fmt.Sprint(sb.count()) })
	took := time.Since(start)
	t.Logf("partitions back after %v (session timeout %v)", took, session)
	if took > session/2 {
		t.Errorf("restarted member got its partitions after %v, want well below the session timeout %v", took, session)
	}
	for _, r := range sb.all() {
		r.Done()
	}
	b.Abort()
	waitB()
}

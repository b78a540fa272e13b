package sink

import (
	"context"
	"errors"

	"go.uber.org/zap"
)

// errDisowned stops a request before an attempt: one of its records may no
// longer be delivered (see Owner).
var errDisowned = errors.New("sink: a record of the request is no longer owned")

// disowned reports whether it may no longer be delivered.
func (it *item) disowned() bool { return it.mayMove() && !it.o.Owned() }

// mayMove reports whether it can be disowned: it was not sent with Send.
func (it *item) mayMove() bool {
	_, always := it.o.(doneFunc)
	return !always
}

// dropDisowned returns items without the disowned ones, which it drops. It
// copies only when it drops, so a part of a split batch never writes over
// its siblings.
func (ep *endpoint) dropDisowned(items []item) []item {
	for i := range items {
		if !items[i].disowned() {
			continue
		}
		kept := append(make([]item, 0, len(items)-1), items[:i]...)
		dropped := []item{items[i]}
		for _, it := range items[i+1:] {
			if it.disowned() {
				dropped = append(dropped, it)
			} else {
				kept = append(kept, it)
			}
		}
		ep.drop(dropped)
		return kept
	}
	return items
}

// drop gives up items whose partition moved to another member: neither
// delivered nor failed, their done is never called. Unlike abandonItems,
// they are no loss: their new owner delivers them.
func (ep *endpoint) drop(items []item) {
	ep.finished.Add(int64(len(items)))
	ep.log.Info("records dropped before an attempt: no longer owned, their next owner delivers them", zap.Int("records", len(items)))
}

type ownersKey struct{}

// owners are the items of one request, for checkOwned.
type owners struct {
	items  []item
	cancel context.CancelCauseFunc
}

// withOwners returns the context of a request of items: one checkOwned can
// stop when any of them may be disowned. stop releases it.
func withOwners(ctx context.Context, items []item) (_ context.Context, stop func()) {
	for i := range items {
		if items[i].mayMove() {
			ctx, cancel := context.WithCancelCause(ctx)
			return context.WithValue(ctx, ownersKey{}, &owners{items: items, cancel: cancel}), func() { cancel(nil) }
		}
	}
	return ctx, func() {}
}

// checkOwned is called by the transport before every attempt, retries
// included, which the client makes on its own: when a record of the request
// is disowned it cancels the request with errDisowned, for deliver to drop
// that record and send the rest, and returns that error.
func checkOwned(ctx context.Context) error {
	o, _ := ctx.Value(ownersKey{}).(*owners)
	if o == nil {
		return nil
	}
	for i := range o.items {
		if o.items[i].disowned() {
			o.cancel(errDisowned)
			return errDisowned
		}
	}
	return nil
}

package optikpi

import (
	"bytes"
	"io"
	"sync/atomic"
)

// heldBody lends a caller's body to the attempts of one request and calls
// release once none of them reads it any more. The transport may go on
// writing an attempt's body after its answer came (RoundTrip closes the
// body, maybe later, from another goroutine), so the end of Send is not
// the end of the body's use: the last Close is.
type heldBody struct {
	b       []byte
	refs    atomic.Int32 // the request's own, plus one per open attempt reader
	release func()
}

// newHeldBody holds b for one request; drop gives up the request's own
// hold.
func newHeldBody(b []byte, release func()) *heldBody {
	h := &heldBody{b: b, release: release}
	h.refs.Store(1)
	return h
}

// open is the request's body for one attempt (or for GetBody): a reader of
// b that holds it until closed.
func (h *heldBody) open() (io.Reader, error) {
	h.refs.Add(1)
	r := &heldReader{h: h}
	r.Reset(h.b)
	return r, nil
}

// drop gives up one hold; the last calls release.
func (h *heldBody) drop() {
	if h.refs.Add(-1) == 0 {
		h.release()
	}
}

// heldReader reads a held body; its first Close gives up its hold, and a
// Close after that is a no-op, since a transport may close a body twice.
type heldReader struct {
	bytes.Reader
	h      *heldBody
	closed atomic.Bool
}

func (r *heldReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		r.h.drop()
	}
	return nil
}

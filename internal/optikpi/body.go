package optikpi

import (
	"bytes"
	"errors"
	"io"
	"sync"
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
	r.rd.Reset(h.b)
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
// A transport may also Close while another of its goroutines is inside Read
// (HTTP/2 closes from a goroutine of its own), so a Close during a Read
// leaves the hold to that Read, which gives it up once it no longer reads
// b, and a Read after Close reads nothing. Close never waits for a Read.
type heldReader struct {
	h *heldBody

	mu      sync.Mutex
	rd      bytes.Reader
	reading bool // inside Read or WriteTo: the hold is theirs to give up
	closed  bool
}

// errBodyClosed is what a read after Close gets.
var errBodyClosed = errors.New("optikpi: read of a closed request body")

// Len is what is left to read, for the request's length.
func (r *heldReader) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rd.Len()
}

func (r *heldReader) Read(p []byte) (int, error) {
	if !r.begin() {
		return 0, errBodyClosed
	}
	n, err := r.rd.Read(p)
	r.end()
	return n, err
}

// WriteTo keeps HTTP/1's copy of the body to the connection in one write.
func (r *heldReader) WriteTo(w io.Writer) (int64, error) {
	if !r.begin() {
		return 0, errBodyClosed
	}
	n, err := r.rd.WriteTo(w)
	r.end()
	return n, err
}

func (r *heldReader) begin() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.reading = true
	return true
}

// end gives up the hold if Close came during the read.
func (r *heldReader) end() {
	r.mu.Lock()
	r.reading = false
	drop := r.closed
	r.mu.Unlock()
	if drop {
		r.h.drop()
	}
}

func (r *heldReader) Close() error {
	r.mu.Lock()
	first := !r.closed
	r.closed = true
	drop := first && !r.reading
	r.mu.Unlock()
	if drop {
		r.h.drop()
	}
	return nil
}

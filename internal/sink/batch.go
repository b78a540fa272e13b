package sink

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// item is one queued record and its owner. Of the record it keeps only the
// JSON, all that batching and sending read: an item is copied into its
// lane's channel, out of it and into a batch, 40 bytes where an item with
// the whole optikpi.Encoded made 88. The JSON keeps alive no more than the
// record did: an Alone record's ids share its allocation, and a copied
// record's JSON is in its lane's block.
type item struct {
	json []byte
	o    Owner
}

// endpoint is one destination's endpoint: its lanes and metrics.
type endpoint struct {
	d    *destination
	kind optikpi.Kind
	path string
	log  *zap.Logger
	m    endpointMetrics

	// lanes: one for events, sent by InFlight senders; InFlight for state
	// kinds, each sent by one sender, so that a user's records, always in
	// the same lane, go out one request after the other.
	lanes   []*lane
	senders int // per lane
	// finished counts the records made final, failed, dropped or
	// abandoned, a batch at a time: records_queued is what the lanes
	// accepted less these (queued).
	finished atomic.Int64
}

// queued is records_queued: the records SendTo accepted that are not yet
// final. finished is read before the lanes' counts, which only grow, so
// the difference is never negative.
func (ep *endpoint) queued() int64 {
	n := -ep.finished.Load()
	for _, l := range ep.lanes {
		n += l.accepted()
	}
	return n
}

// lane is a queue, its batcher, and the senders of its batches.
type lane struct {
	ep  *endpoint
	in  chan item   // Send → batcher; never closed: see entered
	out chan *batch // batcher → senders; unbuffered, so a batch grows while every sender is busy

	// entered counts the SendTo calls for the lane that got past their
	// first checks, backedOut those of them that then queued nothing
	// (closed, or ctx done). It is the one shared write of a Send, and
	// the guard that no record is queued after Close: a SendTo counts
	// itself before it reads Sink.closed, and Close sets closed before
	// the lane's last reader compares the counts (settled), so a call
	// either sees closed or is counted, and is waited for. nudge wakes
	// that reader when a call backs out.
	entered   atomic.Int64
	backedOut atomic.Int64
	nudge     chan struct{}
	// received counts the records taken from in, kept by the batcher
	// while it runs (a write per record, away from entered's cache line),
	// then by Close.
	received int64

	// blk is what SendTo copies the lane's records into (see
	// optikpi.Block) unless they are Alone, as every encoding Encode or a
	// Builder made is: a record made by hand that waits here must not keep
	// other memory alive.
	mu  sync.Mutex
	blk optikpi.Block
}

// own returns rec's JSON, copied into the lane's block unless rec is
// Alone. rec is a pointer: the record is copied only when it must be.
func (l *lane) own(rec *optikpi.Encoded) []byte {
	if rec.Alone() {
		return rec.JSON // as Copy would, without taking the lock
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blk.Copy(*rec).JSON
}

// batch is records to send in one request.
type batch struct {
	items []item
	size  int // of the body: brackets, commas and records
}

func newEndpoint(d *destination, k optikpi.Kind) *endpoint {
	o := &d.s.opts
	ep := &endpoint{
		d:    d,
		kind: k,
		path: k.Endpoint(),
		log:  d.log.With(zap.String("endpoint", k.Endpoint())),
		m:    d.s.metrics.endpoint(d.name, k.Endpoint()),
	}
	lanes, senders := 1, o.InFlight
	if k.IsState() {
		lanes, senders = o.InFlight, 1
	}
	ep.senders = senders
	queue := max(1, o.QueueSize/lanes)
	for range lanes {
		ep.lanes = append(ep.lanes, newLane(ep, queue))
	}
	d.s.metrics.queued.eps = append(d.s.metrics.queued.eps, ep)
	return ep
}

func newLane(ep *endpoint, queue int) *lane {
	return &lane{ep: ep, in: make(chan item, queue), out: make(chan *batch), nudge: make(chan struct{}, 1)}
}

// accepted is how many records SendTo queued in the lane: backedOut is read
// first, so it is never more than what entered counts.
func (l *lane) accepted() int64 {
	b := l.backedOut.Load()
	return l.entered.Load() - b
}

// backOut uncounts a SendTo that queued nothing.
func (l *lane) backOut() {
	l.backedOut.Add(1)
	select {
	case l.nudge <- struct{}{}:
	default:
	}
}

// settled reports, once the sink is closed, whether every record SendTo
// queued in the lane has been received, received counting those taken:
// no more can come.
func (l *lane) settled(received int64) bool { return received == l.accepted() }

// lane returns the lane of a record of user userID.
func (ep *endpoint) lane(userID string) *lane {
	if len(ep.lanes) == 1 {
		return ep.lanes[0]
	}
	// FNV-1a: inline, so Send does not allocate.
	h := uint64(14695981039346656037)
	for i := 0; i < len(userID); i++ {
		h ^= uint64(userID[i])
		h *= 1099511628211
	}
	return ep.lanes[h%uint64(len(ep.lanes))]
}

// batch turns the lane's records into batches until Close has closed the
// sink, every record queued is received (settled) and the last batch is
// taken, or the sink abandons.
func (l *lane) batch() {
	s := l.ep.d.s
	defer s.wg.Done()
	defer close(l.out)
	o := &s.opts
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()

	var received int64 // see lane.received
	defer func() { l.received = received }()
	var (
		in       = l.in      // nil once closed and settled: flush without lingering
		closing  = s.closing // nil once closed
		nudge    <-chan struct{}
		cur      = l.ep.newBatch()
		carry    item // the record that did not fit in cur
		hasCarry bool
		ready    bool // cur goes to the first free sender
	)
	add := func(it item) {
		n := len(it.json)
		switch {
		case n+2 > MaxRequestBytes && it.disowned():
			l.ep.drop([]item{it})
		case n+2 > MaxRequestBytes:
			l.ep.fail([]item{it}, &Failure{Reason: failure.TooLarge,
				Message: fmt.Sprintf("record of %d bytes: larger than the API's %d-byte request limit", n, MaxRequestBytes)})
		case len(cur.items) == 0:
			// Alone it may exceed MaxBatchBytes: the API may still take it.
			cur.items, cur.size = append(cur.items, it), n+2
			if cur.size >= o.MaxBatchBytes || o.BatchSize == 1 || in == nil {
				ready = true
			} else {
				linger.Reset(o.Linger)
			}
		case cur.size+1+n > o.MaxBatchBytes:
			carry, hasCarry, ready = it, true, true
		default:
			cur.items, cur.size = append(cur.items, it), cur.size+1+n
			if len(cur.items) >= o.BatchSize || cur.size >= o.MaxBatchBytes {
				ready = true
			}
		}
	}
	for {
		if closing == nil && in != nil && l.settled(received) {
			in, nudge, ready = nil, nil, true
		}
		if in == nil && len(cur.items) == 0 && !hasCarry {
			return
		}
		var out chan<- *batch
		if ready && len(cur.items) > 0 {
			out = l.out
		}
		recv := in
		if hasCarry || len(cur.items) >= o.BatchSize {
			recv = nil
		}
		select {
		case it := <-recv:
			received++
			add(it)
			// What else is queued joins the batch without the select,
			// which locks every channel it waits on, once per record.
		drain:
			for !ready && !hasCarry {
				select {
				case it := <-in:
					received++
					add(it)
				default:
					break drain
				}
			}
		case <-closing:
			closing, nudge = nil, l.nudge // settled is checked above
		case <-nudge:
		case out <- cur:
			linger.Stop()
			cur, ready = l.ep.newBatch(), in == nil
			if hasCarry {
				hasCarry = false
				add(carry)
				carry = item{}
			}
		case <-linger.C:
			ready = true
		case <-s.hard.Done():
			l.ep.abandonItems(cur.items)
			if hasCarry {
				l.ep.abandonItems([]item{carry})
			}
			return
		}
	}
}

func (ep *endpoint) newBatch() *batch { return ep.d.s.batches.get() }

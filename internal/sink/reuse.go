package sink

import (
	"slices"
	"sync"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// reqBody is a request body and the slice its records are joined from,
// reused once the transport has let go of the body.
type reqBody struct {
	buf  []byte
	objs [][]byte
	// release puts it back (optikpi.Client.Post's release); made once, so
	// that a request allocates no closure.
	release func()
}

// bodyPool reuses request bodies. A body may be read by the transport after
// its request's answer came, so one goes back only when the client releases
// it, never when post returns.
type bodyPool struct {
	pool sync.Pool
	keep int // largest buffer kept: a lone huge record must not stay pinned
}

// get returns a body holding the JSON array of items' records.
func (p *bodyPool) get(items []item) *reqBody {
	b, _ := p.pool.Get().(*reqBody)
	if b == nil {
		b = &reqBody{}
		b.release = func() { p.put(b) }
	}
	size := 1 + len(items)
	for _, it := range items {
		b.objs = append(b.objs, it.json)
		size += len(it.json)
	}
	b.buf = optikpi.AppendBatch(slices.Grow(b.buf[:0], size), b.objs)
	clear(b.objs) // a pooled body pins no record
	b.objs = b.objs[:0]
	return b
}

func (p *bodyPool) put(b *reqBody) {
	if cap(b.buf) > p.keep {
		b.buf = nil
	}
	p.pool.Put(b)
}

// batchPool reuses batches and their item slices. A sender puts a batch back
// only once deliver returned: every record of it final, abandoned or
// dropped, the parts of a split included, since those are slices of its
// items and are delivered before deliver returns.
type batchPool struct {
	pool sync.Pool
	size int // items a new batch has room for
}

func (p *batchPool) get() *batch {
	if b, ok := p.pool.Get().(*batch); ok {
		return b
	}
	return &batch{items: make([]item, 0, p.size)}
}

func (p *batchPool) put(b *batch) {
	clear(b.items) // pins neither records nor their callbacks
	b.items, b.size = b.items[:0], 0
	p.pool.Put(b)
}

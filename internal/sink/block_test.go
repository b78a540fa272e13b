package sink

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestQueuedRecordsPinNoBlocks: records that view larger buffers (made by
// hand: the mapper's are Alone), queued behind an endpoint that does not
// answer, keep only their own bytes alive. Each of n records is the only
// one kept of a 16 KiB block, the case of a slow endpoint's records sparse
// among records that finish at once: had the sink kept the records as
// given, the heap would hold n blocks (32 MiB for records of 2000 × some
// 300 bytes), memory bounded by the records waiting rather than by their
// bytes (issue 10, defect 2). Once the endpoint answers, every one arrives.
func TestQueuedRecordsPinNoBlocks(t *testing.T) {
	const n, block = 2000, 16 << 10
	em, _ := newEmulator(t, nil)
	gate := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-gate
		em.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	opts := testOptions()
	opts.QueueSize = n // every record queued at once, none waiting in Send
	s := newSink(t, srv.URL+"/apigw/ingest", nil, opts)
	defer open() // before the sink's Close, which waits for the records

	recs := deposits(t, n)
	done, wait := acks(t, n)
	base := heapAlloc()
	for i := range recs {
		// The record at the start of a block of its own, the rest of
		// which held records that finished.
		blk := make([]byte, block)
		rec := recs[i]
		rec.JSON = blk[:copy(blk, rec.JSON):len(rec.JSON)]
		recs[i] = optikpi.Encoded{}
		if err := s.Send(context.Background(), testDest, rec, done); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	held := int64(heapAlloc()) - int64(base)
	t.Logf("heap grew by %d bytes with %d records queued", held, n)
	if held > n*block/4 {
		t.Errorf("queued records hold %d bytes of heap, want at most %d: they keep their blocks alive", held, n*block/4)
	}
	runtime.KeepAlive(recs)

	open()
	finished := make(chan struct{})
	go func() { wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(waitLimit):
		t.Fatalf("records not final after %v", waitLimit)
	}
	if got := len(em.EventIDs(optikpi.KindDeposit)); got != n {
		t.Errorf("emulator has %d deposits, want %d", got, n)
	}
}

// heapAlloc is the bytes of live heap objects after a collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

package consume

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// fullSize runs TestMaxInFlightBytes at the size of the issue: 900 MB
// through kfake, 40 s and 2 GB (over 6 GB with -race); the default is a
// tenth of every size, the same ratios.
var fullSize = flag.Bool("fullsize", false, "TestMaxInFlightBytes with 900 KB records and a 64 MiB bound")

// produceSized writes n records of about size bytes each to partition 0;
// they share one random value, so the producer holds no copies.
func (e *env) produceSized(n, size int) {
	e.t.Helper()
	value := make([]byte, size)
	rand.Read(value)
	// Uncompressed: random bytes do not shrink, and snappy would cost
	// seconds.
	prod, err := kgo.NewClient(kgo.SeedBrokers(e.addrs...), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer prod.Close()
	for i := 0; i < n; i += 100 {
		var recs []*kgo.Record
		for j := i; j < min(n, i+100); j++ {
			recs = append(recs, &kgo.Record{Topic: testTopic, Key: []byte(fmt.Sprint(j)), Value: value})
		}
		if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			e.t.Fatal(err)
		}
	}
}

// slowSink holds what it is handed and finishes everything it holds only
// once Run must have paused (or nothing came for a second): the records in
// flight then peak at whatever bound made Run pause.
type slowSink struct {
	mu       sync.Mutex
	held     []*Record
	last     time.Time
	peak     int64 // most InFlightBytes seen by handle
	peakRecs int64 // and records
	n        int
}

func (s *slowSink) handle(c *Consumer) func(context.Context, *Record) {
	return func(_ context.Context, r *Record) {
		st := c.Stats()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.held = append(s.held, r)
		s.last = time.Now()
		s.peak = max(s.peak, st.InFlightBytes)
		s.peakRecs = max(s.peakRecs, st.InFlight)
		s.n++
	}
}

// release finishes what is held if paused or once Run has handed nothing
// out for quiet.
func (s *slowSink) release(paused bool, quiet time.Duration) {
	s.mu.Lock()
	var batch []*Record
	if paused || time.Since(s.last) >= quiet {
		batch, s.held = s.held, nil
	}
	s.mu.Unlock()
	for _, r := range batch {
		r.Done()
	}
}

// runSlow runs c into a slowSink until it handed out n records, finishes
// them all and closes c; paused says from the consumer's stats that Run
// must be waiting for room. Large records take their time through kfake,
// so it waits longer than waitFor.
func runSlow(t *testing.T, c *Consumer, n int, paused func(Stats) bool) *slowSink {
	t.Helper()
	s := &slowSink{}
	wait := run(t, c, s.handle(c))
	for deadline := time.Now().Add(2 * time.Minute); ; {
		s.release(paused(c.Stats()), time.Second)
		s.mu.Lock()
		got := s.n
		s.mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("handed out %d records, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.release(true, 0)
	closeOK(t, c) // commits what is done
	wait()
	return s
}

// TestMaxInFlightBytes: 1,000 records of 90 KB (900 KB with -fullsize)
// with max in flight 200 records and 6.4 MiB (64 MiB). Counted in records alone, 176 MiB would be in flight;
// the byte bound holds them at 64 MiB plus at most one record, and all are
// delivered and committed.
func TestMaxInFlightBytes(t *testing.T) {
	n, size, bound := 1000, 90<<10, int64(64<<20)/10
	if *fullSize {
		size, bound = size*10, bound*10
	}
	e := newEnv(t, 1)
	e.produceSized(n, size)
	const maxRecs = 200
	c := e.consumer("g", Options{MaxInFlight: maxRecs, MaxInFlightBytes: bound})
	s := runSlow(t, c, n, func(st Stats) bool { return st.InFlight >= maxRecs || st.InFlightBytes >= bound })

	limit := bound + int64(size) + 1024
	if s.peak > limit {
		t.Errorf("peak bytes in flight %d (%d records), want at most %d (bound + one record)", s.peak, s.peakRecs, limit)
	}
	if s.peak < bound/2 {
		t.Errorf("peak bytes in flight %d, want near %d: the test did not fill the bound", s.peak, bound)
	}
	if got := e.committed("g"); got[0] != int64(n) {
		t.Errorf("committed %v, want %d", got, n)
	}
	if st := c.Stats(); st.InFlightBytes != 0 || st.InFlight != 0 {
		t.Errorf("after all Done: in flight %d records, %d bytes; want 0, 0", st.InFlight, st.InFlightBytes)
	}
	t.Logf("peak in flight: %d bytes (%.1f MiB), %d records", s.peak, float64(s.peak)/(1<<20), s.peakRecs)
}

// TestRecordOverMaxInFlightBytes: records each larger than the byte bound
// pass one at a time instead of waiting for a room that never comes.
func TestRecordOverMaxInFlightBytes(t *testing.T) {
	const n, size = 5, 300 << 10
	e := newEnv(t, 1)
	e.produceSized(n, size)
	c := e.consumer("g", Options{MaxInFlightBytes: 100 << 10})
	s := runSlow(t, c, n, func(st Stats) bool { return st.InFlight > 0 })
	if s.peakRecs != 1 {
		t.Errorf("peak records in flight %d, want 1: each is over the bound alone", s.peakRecs)
	}
	if got := e.committed("g"); got[0] != n {
		t.Errorf("committed %v, want %d", got, n)
	}
}

func TestMaxInFlightBytesOption(t *testing.T) {
	ok := Options{Brokers: []string{"localhost:1"}, Group: "g", Topics: []string{"t"}}
	bad := ok
	bad.MaxInFlightBytes = -1
	if _, err := New(bad); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("New with max in flight bytes -1 = %v, want ErrInvalidOptions", err)
	}
	if err := ok.validate(); err != nil || ok.MaxInFlightBytes != DefaultMaxInFlightBytes {
		t.Errorf("default: got %d (%v), want %d", ok.MaxInFlightBytes, err, DefaultMaxInFlightBytes)
	}
	for _, c := range []struct{ bound, want int64 }{
		{1 << 20, 256 << 10}, {16 << 20, 4 << 20}, {64 << 20, 4 << 20}, {1 << 30, DefaultFetchMaxBytes}, {1, 1},
	} {
		if got := fetchBytes(c.bound); int64(got) != c.want {
			t.Errorf("fetchBytes(%d): got %d, want %d", c.bound, got, c.want)
		}
	}
}

// TestFetchOptions: the fetch settings reach the Kafka client, zero values
// as their documented defaults (TestNewValidates refuses negative ones).
func TestFetchOptions(t *testing.T) {
	base := Options{Brokers: []string{"localhost:1"}, Group: "g", Topics: []string{"t"}}
	tests := []struct {
		name       string
		edit       func(*Options)
		bytes      int32
		partition  int32
		wait       time.Duration
		concurrent int // kgo's -1: no bound but one per broker
	}{
		{"defaults", func(*Options) {}, 4 << 20, 256 << 10, DefaultFetchMaxWait, -1},
		{"from a small byte bound", func(o *Options) { o.MaxInFlightBytes = 512 << 10 }, 128 << 10, 128 << 10, DefaultFetchMaxWait, -1},
		{"set", func(o *Options) {
			o.FetchMaxBytes, o.FetchMaxPartitionBytes, o.FetchMaxWait, o.MaxConcurrentFetches = 8<<20, 2<<20, time.Second, 3
		}, 8 << 20, 2 << 20, time.Second, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.edit(&o)
			c, err := New(o)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer c.Abort()
			got := []any{c.cl.OptValue(kgo.FetchMaxBytes), c.cl.OptValue(kgo.FetchMaxPartitionBytes), c.cl.OptValue(kgo.FetchMaxWait), c.cl.OptValue(kgo.MaxConcurrentFetches)}
			want := []any{tt.bytes, tt.partition, tt.wait, tt.concurrent}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("fetch max bytes, partition bytes, max wait, concurrent fetches: got %v, want %v", got, want)
			}
		})
	}
}

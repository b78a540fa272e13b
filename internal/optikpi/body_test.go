package optikpi

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPostRelease: whatever the outcome, Post calls release exactly once,
// and every attempt sent the body as given.
func TestPostRelease(t *testing.T) {
	tests := []struct {
		name      string
		kind      Kind
		statuses  []int // by attempt; the last repeats
		wantErr   bool
		wantTries int32
	}{
		{"delivered", KindDeposit, []int{200}, false, 1},
		{"transient twice, then delivered", KindDeposit, []int{500, 503, 200}, false, 3},
		{"rejected", KindDeposit, []int{400}, true, 1},
		{"invalid kind: no attempt", Kind(0), []int{200}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if string(body) != string(testBody) {
					t.Errorf("attempt %d body = %s; want %s", n, body, testBody)
				}
				if r.ContentLength != int64(len(testBody)) {
					t.Errorf("attempt %d Content-Length = %d; want %d", n, r.ContentLength, len(testBody))
				}
				st := tt.statuses[min(n, len(tt.statuses))-1]
				if st == 200 {
					reply(w, st, `{"message":"ok","recordIds":["e1"],"count":1}`)
				} else {
					reply(w, st, `{"error":"refused","message":"no"}`)
				}
			})
			var released atomic.Int32
			err := newTestClient(t, s.base, fastRetry).Post(context.Background(), tt.kind, testBody, func() { released.Add(1) })
			if (err != nil) != tt.wantErr {
				t.Errorf("Post = %v; want an error: %v", err, tt.wantErr)
			}
			if n := s.requests.Load(); n != tt.wantTries {
				t.Errorf("server saw %d requests; want %d", n, tt.wantTries)
			}
			// The transport may close the last body just after Post returns.
			for deadline := time.Now().Add(10 * time.Second); released.Load() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(10 * time.Millisecond) // a second call would come now
			if n := released.Load(); n != 1 {
				t.Errorf("release called %d times; want 1", n)
			}
		})
	}
}

// lingeringTransport answers at once and reads the request body only
// later, as http.Transport may when a server answers before reading it.
type lingeringTransport struct {
	read chan struct{} // closed by the test: read the body now
	done chan string   // what was read
}

func (l *lingeringTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	go func() {
		<-l.read
		b, _ := io.ReadAll(req.Body)
		req.Body.Close()
		l.done <- string(b)
	}()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{}`)), Header: http.Header{}, Request: req}, nil
}

// TestPostReleaseWaitsForTheTransport: a body the transport still reads
// after the answer is not released when Post returns, but once the
// transport closes it; until then its bytes must not change.
func TestPostReleaseWaitsForTheTransport(t *testing.T) {
	lt := &lingeringTransport{read: make(chan struct{}), done: make(chan string, 1)}
	c := newTestClient(t, "http://optikpi.invalid/apigw/ingest", WithHTTPClient(&http.Client{Transport: lt}))
	body := []byte(string(testBody))
	released := make(chan struct{})
	if err := c.Post(context.Background(), KindDeposit, body, func() { close(released) }); err != nil {
		t.Fatalf("Post: %v", err)
	}
	select {
	case <-released:
		t.Fatal("released when Post returned, while the transport had not read the body yet")
	case <-time.After(20 * time.Millisecond):
	}
	close(lt.read)
	if got := <-lt.done; got != string(testBody) {
		t.Errorf("the transport read %s; want %s", got, testBody)
	}
	select {
	case <-released:
	case <-time.After(10 * time.Second):
		t.Fatal("not released after the transport closed the body")
	}
}

// TestHeldReaderCloseDuringRead: HTTP/2 closes a request body from its own
// goroutine while its writer may be inside Read (http2clientStream's
// closeReqBodyLocked). A Close then must not release the body while that
// Read still copies from it: the release must happen after the Read, so
// that a caller reusing the bytes never races with it (go test -race
// catches one that does), and a Read after Close must not read the bytes.
func TestHeldReaderCloseDuringRead(t *testing.T) {
	for range 50 {
		body := []byte(strings.Repeat("0123456789", 200))
		var released atomic.Int32
		h := newHeldBody(body, func() {
			released.Add(1)
			for i := range body { // the caller reuses the bytes
				body[i] = 'x'
			}
		})
		rd, _ := h.open()
		r := rd.(io.ReadCloser)
		h.drop() // Post returned: only the transport's reader holds it
		read := make(chan string)
		go func() {
			var got []byte
			buf := make([]byte, 7)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			read <- string(got)
		}()
		r.Close()
		got := <-read
		if strings.Contains(got, "x") {
			t.Fatalf("a Read returned bytes written after the release: %q…", got[:min(len(got), 40)])
		}
		if !strings.HasPrefix(strings.Repeat("0123456789", 200), got) {
			t.Fatalf("read %q…; want a prefix of the body", got[:min(len(got), 40)])
		}
		for deadline := time.Now().Add(10 * time.Second); released.Load() == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if n := released.Load(); n != 1 {
			t.Fatalf("released %d times; want 1", n)
		}
	}
}

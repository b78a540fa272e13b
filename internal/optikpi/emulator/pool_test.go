package emulator

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// Concurrent requests share the pooled request buffers one after another:
// every answer names the ids its own request sent, and every kept record
// and id is the one sent, whatever requests of other sizes, refused ones
// among them, ran since.
func TestConcurrentRequestsKeepTheirRecords(t *testing.T) {
	for _, c := range []struct{ validate, keep bool }{{false, true}, {true, true}, {false, false}, {true, false}} {
		t.Run(fmt.Sprintf("validate=%v,keep=%v", c.validate, c.keep), func(t *testing.T) {
			cfg := testConfig()
			cfg.Validate, cfg.KeepRecords = c.validate, c.keep
			em, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			const workers, perWorker = 8, 12
			url := "http://emulator" + ingestRoot + optikpi.KindDeposit.Endpoint()
			var (
				mu         sync.Mutex
				sent, want []string
				wg         sync.WaitGroup
			)
			for g := range workers {
				wg.Go(func() {
					for j := range perWorker {
						from, n := (g*perWorker+j)*100, 1+(g*7+j*13)%60
						recs := encoded(t, from, n)
						body := optikpi.AppendBatch(nil, recs)
						if j%4 == 3 { // a refused request: validation refuses a record, or no valid JSON
							bad := append(append([]byte(nil), body[:len(body)-2]...), `,{"event_id":"bad"`...)
							w := httptest.NewRecorder()
							em.ServeHTTP(w, signedRequest(t, url, bad))
							if w.Code != 400 {
								t.Errorf("bad body: %d %s; want 400", w.Code, w.Body)
							}
						}
						w := httptest.NewRecorder()
						em.ServeHTTP(w, signedRequest(t, url, body))
						if w.Code != 200 {
							t.Errorf("%d records: %d %s; want 200", n, w.Code, w.Body)
							continue
						}
						var resp struct{ RecordIDs []string }
						if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
							t.Errorf("answer %s: %v", w.Body, err)
						}
						ids := make([]string, n)
						for i := range n {
							ids[i] = fmt.Sprintf("evt_dep_%06d", from+i)
						}
						if !slices.Equal(resp.RecordIDs, ids) {
							t.Errorf("answer ids %q; want %q", resp.RecordIDs, ids)
						}
						mu.Lock()
						sent = append(sent, ids...)
						for _, r := range recs {
							want = append(want, string(r))
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			gotIDs := em.EventIDs(optikpi.KindDeposit)
			var got []string
			for _, r := range em.Records(optikpi.KindDeposit) {
				got = append(got, string(r))
			}
			if !c.keep {
				sent, want = nil, nil
			}
			slices.Sort(gotIDs)
			slices.Sort(sent)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(gotIDs, sent) {
				t.Errorf("kept %d ids, %d sent; they differ", len(gotIDs), len(sent))
			}
			if !slices.Equal(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Errorf("kept record %s; want %s", got[i], want[i])
						break
					}
				}
				t.Errorf("kept %d records, %d sent; they differ", len(got), len(want))
			}
		})
	}
}

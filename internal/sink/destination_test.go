package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

// TestSendToDestinationByName: with one destination or many (SendTo finds
// a few by comparing names, more through the map), a record goes to the
// destination it names, whatever that destination's place among them, and
// a name that is not a destination's is ErrUnknownDestination, the record
// queued nowhere.
func TestSendToDestinationByName(t *testing.T) {
	unknown := []string{"", "nope", "dest", "dest0x", "DEST0", "dest0 "}
	for _, n := range []int{1, 4, 5, 7} {
		t.Run(fmt.Sprint(n, " destinations"), func(t *testing.T) {
			ems := make([]*emulator.Emulator, n)
			dests := make([]Destination, n)
			for i := range n {
				em, srv := newEmulator(t, nil)
				ems[i] = em
				dests[i] = Destination{Name: fmt.Sprint("dest", i), BaseURL: srv.URL + "/apigw/ingest", AccountID: testAccount, WorkspaceID: testWorkspace, Token: optikpi.StaticToken(testToken)}
			}
			s, err := New(dests, testOptions())
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer s.Close(context.Background())

			recs := deposits(t, n)
			done, wait := acks(t, n)
			for i := range n {
				if err := s.SendTo(context.Background(), dests[i].Name, recs[i], doneFunc(done)); err != nil {
					t.Fatalf("SendTo %q: %v", dests[i].Name, err)
				}
			}
			for _, name := range unknown {
				err := s.SendTo(context.Background(), name, recs[0], doneFunc(func(*Failure) {
					t.Errorf("SendTo %q: record final", name)
				}))
				if !errors.Is(err, ErrUnknownDestination) {
					t.Errorf("SendTo %q: got %v, want %v", name, err, ErrUnknownDestination)
				}
			}
			wait()
			for i, em := range ems {
				got, want := em.EventIDs(optikpi.KindDeposit), []string{recs[i].EventID}
				if !slices.Equal(got, want) {
					t.Errorf("%s received %q, want %q", dests[i].Name, got, want)
				}
			}
		})
	}
}

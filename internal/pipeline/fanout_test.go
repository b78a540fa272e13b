package pipeline_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

// fanoutConfig fans a signup out to a customer profile and an account
// event, as issue 12 asks.
const fanoutConfig = `
kafka:
  brokers: [localhost:9092]
  group: g
  topics: [signups]
destinations:
  - {name: main, base_url: "https://gw.example.com/apigw/ingest", account_id: acc, workspace_id: ws, token_env: OPTIKPI_TOKEN}
dlq: {topic: optikpi.dlq}
routing:
  routes:
    - name: signup
      topic: signups
      outputs:
        - name: profile
          model: customer
          fields:
            user_id: player_id
            username: player_id
            email: email
            creation_timestamp: {path: ts, transform: unix_millis}
        - name: registration
          model: account
          fields:
            user_id: player_id
            event_name: {const: Player Registration}
            event_time: {path: ts, transform: unix_millis}
`

func fanoutHarness(t *testing.T, adjust func(string, *emulator.Config)) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(fanoutConfig), "fanout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return newHarnessWith(t, cfg, 1, adjust)
}

func (h *harness) produceSignup(player, email string) *kgo.Record {
	h.t.Helper()
	v := fmt.Sprintf(`{"player_id":%q,"email":%q,"ts":1767225600000}`, player, email)
	r := &kgo.Record{Topic: "signups", Key: []byte(player), Value: []byte(v)}
	if err := h.client.ProduceSync(context.Background(), r).FirstErr(); err != nil {
		h.t.Fatal(err)
	}
	return r
}

// committedPast reports whether the group committed past offset of
// signups' only partition.
func (h *harness) committedPast(offset int64) bool {
	h.t.Helper()
	offs, err := h.adm.FetchOffsets(context.Background(), h.cfg.Kafka.Group)
	if err != nil {
		h.t.Fatal(err)
	}
	o, ok := offs.Lookup("signups", 0)
	return ok && o.At > offset
}

// TestFanOutCommitsAfterEveryOutput: one record becomes a customer profile
// and an account event; its offset is committed only once both arrived.
func TestFanOutCommitsAfterEveryOutput(t *testing.T) {
	gate := make(chan struct{})
	h := fanoutHarness(t, func(_ string, c *emulator.Config) {
		c.Reject = func(k optikpi.Kind, _ optikpi.Record) string {
			if k == optikpi.KindAccount {
				<-gate // the account event waits for the test
			}
			return ""
		}
	})
	rec := h.produceSignup("p1", "p1@example.com")
	r := h.start()
	defer r.stop(t)
	release := sync.OnceFunc(func() { close(gate) })
	defer release() // before stop, which waits for the account event
	em := h.emus.ByName["main"]
	waitFor(t, "the customer profile", func() (bool, string) {
		n := len(em.Records(optikpi.KindCustomer))
		return n == 1, fmt.Sprintf("%d profiles", n)
	})
	// Several commit intervals pass with the profile delivered and the
	// account event held: the record must stay uncommitted.
	for range 5 {
		time.Sleep(h.cfg.Kafka.CommitInterval)
		if h.committedPast(rec.Offset) {
			t.Fatal("offset committed while the account event was still in flight")
		}
	}
	release()
	h.waitCommitted()
	if got, want := em.EventIDs(optikpi.KindAccount), []string{"relay-signups-0-0:registration"}; !slices.Equal(got, want) {
		t.Errorf("account events: got %q, want %q", got, want)
	}
	if n := len(em.Records(optikpi.KindCustomer)); n != 1 {
		t.Errorf("got %d profiles, want 1", n)
	}
	if dead := h.deadLetters(); len(dead) != 0 {
		t.Errorf("got dead letters %v, want none", dead)
	}
	// Two outputs delivered are one record done, which relay demo and the
	// records_total metric reconcile against what was consumed.
	if st := r.p.Stats(); st.Consumed != 1 || st.Done() != 1 || st.FannedOut != 1 || st.TotalDelivered() != 2 {
		t.Errorf("stats: consumed %d, done %d, fanned out %d, delivered %d; want 1, 1, 1, 2", st.Consumed, st.Done(), st.FannedOut, st.TotalDelivered())
	}
}

// TestFanOutOutputsFailAlone: an output the API rejects, and one that
// cannot be mapped, are dead-lettered naming their output; the record's
// other output is delivered, and the offsets are committed.
func TestFanOutOutputsFailAlone(t *testing.T) {
	h := fanoutHarness(t, func(_ string, c *emulator.Config) {
		c.Reject = func(k optikpi.Kind, r optikpi.Record) string {
			if k == optikpi.KindAccount && r["user_id"] == "p-refused" {
				return "player unknown to the account service"
			}
			return ""
		}
	})
	refused := h.produceSignup("p-refused", "refused@example.com") // account rejected
	invalid := h.produceSignup("p-invalid", "not an email")        // profile invalid
	r := h.start()
	defer r.stop(t)
	h.waitCommitted()

	em := h.emus.ByName["main"]
	if got, want := em.EventIDs(optikpi.KindAccount), []string{"relay-signups-0-1:registration"}; !slices.Equal(got, want) {
		t.Errorf("account events: got %q, want %q (the invalid profile's)", got, want)
	}
	var profiles []string
	for _, raw := range em.Records(optikpi.KindCustomer) {
		if strings.Contains(string(raw), `"user_id":"p-refused"`) {
			profiles = append(profiles, "p-refused")
		} else {
			profiles = append(profiles, string(raw))
		}
	}
	if !slices.Equal(profiles, []string{"p-refused"}) {
		t.Errorf("profiles: got %q, want p-refused's only", profiles)
	}

	dead := h.deadLetters()
	type letter struct {
		reason                 failure.Reason
		route, output, eventID string
	}
	tests := []struct {
		src  *kgo.Record
		want letter
	}{
		{refused, letter{failure.Rejected, "signup", "registration", "relay-signups-0-0:registration"}},
		{invalid, letter{failure.Invalid, "signup", "profile", ""}},
	}
	for _, tt := range tests {
		es := dead[srcKey{"signups", 0, tt.src.Offset}]
		var got []letter
		for _, e := range es {
			got = append(got, letter{e.Reason, e.Route, e.Output, e.EventID})
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("dead letters of offset %d: got %+v, want [%+v]", tt.src.Offset, got, tt.want)
		}
	}
	if len(dead) != 2 {
		t.Errorf("got dead letters of %d records, want 2", len(dead))
	}
}

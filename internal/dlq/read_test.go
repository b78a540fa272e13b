package dlq

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

func (e *env) readAllLetters(ctx context.Context) ([]*Letter, []End) {
	e.t.Helper()
	var got []*Letter
	ends, err := Read(ctx, []kgo.Opt{kgo.SeedBrokers(e.addrs...)}, dlqTopic, func(l *Letter) error {
		got = append(got, l)
		return nil
	})
	if err != nil {
		e.t.Fatalf("Read: %v", err)
	}
	return got, ends
}

func TestRead(t *testing.T) {
	e := newEnv(t, dlqTopic)
	w := e.writer(nil)
	defer w.Close(context.Background())
	failedAt := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Source: source("payments", 3, 10, "player-1", `{"a":1}`, "ce_type", "deposit"), Reason: failure.Invalid, Message: "field amount", Route: "deposits", Attempts: 1, FailedAt: failedAt},
		{Source: source("payments", 3, 11, "player-1", `not json`), Reason: failure.Unparseable, Message: "not valid JSON", FailedAt: failedAt.Add(time.Minute)},
		// A duplicate of the first, written again after a restart.
		{Source: source("payments", 3, 10, "player-1", `{"a":1}`, "ce_type", "deposit"), Reason: failure.Invalid, Message: "field amount", Route: "deposits", Attempts: 1, FailedAt: failedAt.Add(time.Hour)},
	}
	for _, en := range entries {
		if err := writeSync(t, w, en); err != nil {
			t.Fatal(err)
		}
	}
	// Two records that are not readable dead letters, on partition 0.
	for _, r := range []*kgo.Record{
		{Topic: dlqTopic, Partition: 0, Key: []byte("player-1"), Value: []byte("stray")},
		{Topic: dlqTopic, Partition: 0, Key: []byte("player-1"), Value: []byte("bad"), Headers: []kgo.RecordHeader{{Key: HeaderReason, Value: []byte("invalid")}, {Key: HeaderOffset, Value: []byte("x")}}},
	} {
		if err := e.cl.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	got, ends := e.readAllLetters(context.Background())
	if len(got) != 5 {
		t.Fatalf("got %d letters, want 5", len(got))
	}
	var total int64
	for _, end := range ends {
		total += end.Offset
	}
	if total != 5 || len(ends) != 2 {
		t.Errorf("got ends %v, want 2 partitions summing to 5", ends)
	}
	var readable []*Letter
	var errs []error
	for _, l := range got {
		if l.Record == nil {
			t.Errorf("letter %d/%d has no Record", l.Partition, l.Offset)
		}
		if l.Err != nil {
			errs = append(errs, l.Err)
			if string(l.Record.Value) != "stray" && string(l.Record.Value) != "bad" {
				t.Errorf("unreadable letter lost its bytes: %q", l.Record.Value)
			}
			continue
		}
		readable = append(readable, l)
	}
	if len(errs) != 2 || !errors.Is(errs[0], ErrNotDeadLetter) && !errors.Is(errs[1], ErrNotDeadLetter) ||
		!errors.Is(errs[0], ErrMalformed) && !errors.Is(errs[1], ErrMalformed) {
		t.Errorf("got errors %v, want one ErrNotDeadLetter and one ErrMalformed", errs)
	}
	if len(readable) != 3 {
		t.Fatalf("got %d readable letters, want 3", len(readable))
	}
	// One key, so one partition, in the order written.
	for i, l := range readable {
		if l.Reason != entries[i].Reason || !l.FailedAt.Equal(entries[i].FailedAt) || l.Key() != entries[i].Key() {
			t.Errorf("letter %d: got %s %v %v, want %s %v %v", i, l.Reason, l.FailedAt, l.Key(), entries[i].Reason, entries[i].FailedAt, entries[i].Key())
		}
		if i > 0 && (l.Partition != readable[0].Partition || l.Offset <= readable[i-1].Offset) {
			t.Errorf("letter %d at %d/%d: not after the previous one", i, l.Partition, l.Offset)
		}
		if !l.Timestamp.Equal(entries[i].FailedAt) {
			t.Errorf("letter %d: Kafka timestamp %v, want the failure time %v", i, l.Timestamp, entries[i].FailedAt)
		}
	}
	if readable[0].Key() != readable[2].Key() {
		t.Errorf("duplicates have different keys: %v, %v", readable[0].Key(), readable[2].Key())
	}
}

func TestReadEmptyTopic(t *testing.T) {
	e := newEnv(t, dlqTopic)
	got, ends := e.readAllLetters(context.Background())
	if len(got) != 0 || len(ends) != 2 || ends[0].Offset != 0 || ends[1].Offset != 0 {
		t.Errorf("got %d letters, ends %v; want none, two partitions at 0", len(got), ends)
	}
}

func TestReadMissingTopic(t *testing.T) {
	e := newEnv(t, "other")
	_, err := Read(context.Background(), []kgo.Opt{kgo.SeedBrokers(e.addrs...)}, dlqTopic, func(*Letter) error { return nil })
	if !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Errorf("got %v, want UnknownTopicOrPartition", err)
	}
}

// writeUnrouted writes n dead letters of one key, so on one partition.
func (e *env) writeUnrouted(n int) {
	e.t.Helper()
	w := e.writer(nil)
	defer w.Close(context.Background())
	for i := range n {
		if err := writeSync(e.t, w, Entry{Source: source("t", 0, int64(i), "k", "{}"), Reason: failure.Unrouted}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// Read stops at the first error of fn and returns it.
func TestReadStopsAtError(t *testing.T) {
	e := newEnv(t, dlqTopic)
	e.writeUnrouted(3)
	stop := errors.New("stop")
	calls := 0
	_, err := Read(context.Background(), []kgo.Opt{kgo.SeedBrokers(e.addrs...)}, dlqTopic, func(*Letter) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("got %v after %d calls, want stop after 1", err, calls)
	}
}

func TestFilter(t *testing.T) {
	at := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	letter := func(reason failure.Reason, topic string, off int64, route, endpoint string, status int, msg, apiErr, eventID string, failedAt time.Time) *Letter {
		return &Letter{Entry: Entry{
			Source: &kgo.Record{Topic: topic, Partition: 1, Offset: off}, Reason: reason, Message: msg,
			Route: route, Endpoint: endpoint, Status: status, APIError: []byte(apiErr), EventID: eventID, FailedAt: failedAt,
		}}
	}
	letters := []*Letter{
		0: letter(failure.Invalid, "payments", 10, "deposits", "/events/deposit", 0, "field amount: want a number", "", "", at),
		1: letter(failure.Rejected, "payments", 11, "deposits", "/events/deposit", 400, "optikpi: 400", `{"error":"currency unknown"}`, "e-11", at.Add(time.Hour)),
		2: letter(failure.RetriesExhausted, "players", 12, "player-profile", "/customers", 503, "optikpi: 503", "", "", at.Add(2*time.Hour)),
		3: {Err: ErrNotDeadLetter},
		4: letter(failure.Invalid, "players", 13, "signup", "/customers", 0, "field email", "", "", at),
	}
	letters[4].Output = "profile"
	derive := func(topic string, p int32, off int64) string {
		return "relay-" + topic + "-1-" + string(rune('0'+off%10))
	}
	tests := []struct {
		name   string
		filter Filter
		want   []int
	}{
		{"everything, the unreadable too", Filter{}, []int{0, 1, 2, 3, 4}},
		{"reason", Filter{Reasons: []failure.Reason{failure.Invalid, failure.Rejected}}, []int{0, 1, 4}},
		{"topic", Filter{Topics: []string{"players"}}, []int{2, 4}},
		{"route", Filter{Routes: []string{"deposits"}}, []int{0, 1}},
		{"route of a fan-out", Filter{Routes: []string{"signup"}}, []int{4}},
		{"route and output", Filter{Routes: []string{"signup/profile", "deposits/x"}}, []int{4}},
		{"another output", Filter{Routes: []string{"signup/registration"}}, nil},
		{"endpoint", Filter{Endpoints: []string{"/customers"}}, []int{2, 4}},
		{"status 400", Filter{Statuses: []int{400}}, []int{1}},
		{"status 0 is none", Filter{Statuses: []int{0}}, []int{0, 4}},
		{"since is inclusive", Filter{Since: at.Add(time.Hour)}, []int{1, 2}},
		{"until is exclusive", Filter{Until: at.Add(time.Hour)}, []int{0, 4}},
		{"since and until", Filter{Since: at.Add(time.Minute), Until: at.Add(2 * time.Hour)}, []int{1}},
		{"error in the message", Filter{ErrorMatch: regexp.MustCompile(`want a number`)}, []int{0}},
		{"error in the API body", Filter{ErrorMatch: regexp.MustCompile(`currency`)}, []int{1}},
		{"recorded event id", Filter{EventIDs: []string{"e-11"}}, []int{1}},
		{"derived event id", Filter{EventIDs: []string{"relay-players-1-2"}, DeriveEventID: derive}, []int{2}},
		{"derived event id without DeriveEventID", Filter{EventIDs: []string{"relay-players-1-2"}}, nil},
		{"source", Filter{Sources: []SourceKey{{"payments", 1, 11}, {"payments", 2, 10}}}, []int{1}},
		{"every field must match", Filter{Reasons: []failure.Reason{failure.Invalid}, Statuses: []int{400}}, nil},
	}
	for _, tt := range tests {
		var got []int
		for i, l := range letters {
			if tt.filter.Match(l) {
				got = append(got, i)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSourceKey(t *testing.T) {
	k := SourceKey{"player-activity.v2", 3, 1234}
	got, err := ParseSourceKey(k.String())
	if err != nil || got != k {
		t.Errorf("ParseSourceKey(%q) = %v, %v; want %v", k.String(), got, err, k)
	}
	for _, bad := range []string{"", "t/1", "/1/2", "t/-1/2", "t/1/x", "t/1/2/3", "t/99999999999/1"} {
		if _, err := ParseSourceKey(bad); err == nil {
			t.Errorf("ParseSourceKey(%q): no error", bad)
		}
	}
}

// Records deleted by retention while Read reads them end Read without an
// error, once it has checked that they are gone (after idleTimeout); had
// they not been gone, Read would have ended with ErrIncomplete.
func TestReadRecordsDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, dlqTopic)
	e.writeUnrouted(3)
	got := 0
	// One batch per fetch, so the deletion comes before the next fetch.
	opts := []kgo.Opt{kgo.SeedBrokers(e.addrs...), kgo.FetchMaxPartitionBytes(1), kgo.FetchMaxBytes(1)}
	_, err := Read(context.Background(), opts, dlqTopic, func(l *Letter) error {
		if got++; got == 1 {
			to := kadm.Offsets{}
			to.Add(kadm.Offset{Topic: dlqTopic, Partition: l.Partition, At: 3})
			if _, err := e.adm.DeleteRecords(context.Background(), to); err != nil {
				t.Errorf("DeleteRecords: %v", err)
			}
		}
		return nil
	})
	// kgo may have fetched a letter more before the deletion.
	if err != nil || got < 1 || got > 3 {
		t.Errorf("got %v after %d letters, want no error after 1 to 3", err, got)
	}
}

// A range that ends in a transaction marker (a source topic written with
// transactions) is read to its end, the marker not handed to fn; it used
// to wait for a record that never comes and end with ErrIncomplete.
func TestReadRangesTransactional(t *testing.T) {
	t.Parallel()
	const topic = "txn"
	e := newEnv(t, topic)
	tx, err := kgo.NewClient(kgo.SeedBrokers(e.addrs...), kgo.TransactionalID("t"), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	ctx := context.Background()
	if err := tx.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b"} {
		if err := tx.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	ends, err := e.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup(topic, 0)
	var got []string
	err = ReadRanges(ctx, []kgo.Opt{kgo.SeedBrokers(e.addrs...)}, []Range{{Topic: topic, Partition: 0, From: 0, To: end.Offset}},
		func(r *kgo.Record) error {
			got = append(got, string(r.Value))
			return nil
		})
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("got %q, %v (end %d); want [a b], no error", got, err, end.Offset)
	}
}

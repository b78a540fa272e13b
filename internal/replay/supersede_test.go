package replay

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

const supersedeConfig = `
kafka: {brokers: [localhost:9092], group: g, topics: [players]}
destinations:
  - {name: main, base_url: "http://127.0.0.1:1/apigw/ingest", account_id: a, workspace_id: w, token_env: T}
dlq: {topic: dlq}
routing:
  routes:
    - {name: skip, topic: players, when: {path: skip, equals: true}, skip: true}
    - name: profiles
      topic: players
      model: customer
      fields: {user_id: {meta: key}, creation_timestamp: {meta: timestamp}}
`

// TestFindSuperseding: a later record with the same key that maps to the
// same kind supersedes; a skipped one, another key or a republished copy
// of the candidate itself does not.
func TestFindSuperseding(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "players"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	kopts := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...)}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	rec := func(key, value string, hs ...kgo.RecordHeader) *kgo.Record {
		return &kgo.Record{Topic: "players", Key: []byte(key), Value: []byte(value), Headers: hs}
	}
	replayOf0 := kgo.RecordHeader{Key: mapper.HeaderReplayOf, Value: []byte(mapper.ReplayOf("players", 0, 0))}
	if err := cl.ProduceSync(context.Background(),
		rec("a", `{}`),            // 0: candidate
		rec("b", `{}`),            // 1: candidate, superseded by 4
		rec("c", `{}`),            // 2: candidate
		rec("a", `{}`, replayOf0), // 3: the candidate at 0 republished
		rec("b", `{}`),            // 4
		rec("c", `{"skip":true}`), // 5: skipped, no profile
		rec("d", `{}`),            // 6: candidate, the last record
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(supersedeConfig), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapper.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cand := func(key string, off int64) *candidate {
		return &candidate{src: dlq.SourceKey{Topic: "players", Partition: 0, Offset: off}, key: []byte(key), kind: optikpi.KindCustomer, newer: -1}
	}
	cands := []*candidate{cand("a", 0), cand("b", 1), cand("c", 2), cand("d", 6)}
	if err := findSuperseding(context.Background(), kopts, m, cands); err != nil {
		t.Fatal(err)
	}
	want := []int64{-1, 4, -1, -1}
	for i, c := range cands {
		if c.newer != want[i] {
			t.Errorf("%s@%d: superseded by %d, want %d", c.key, c.src.Offset, c.newer, want[i])
		}
	}
}

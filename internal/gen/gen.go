// Package gen generates realistic traffic of the reference operator schema
// (docs/events.md), with the fate the example configuration gives each event.
package gen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

// The reference topics.
const (
	TopicPlayers  = "players"
	TopicActivity = "player-activity"
	TopicPayments = "payments"
	TopicBets     = "bets"
	TopicBonuses  = "bonuses"
	TopicWallets  = "wallets"
	TopicReferral = "referrals"
	TopicSystem   = "system"
)

// Topics lists the reference topics.
func Topics() []string {
	return []string{TopicPlayers, TopicActivity, TopicPayments, TopicBets, TopicBonuses, TopicWallets, TopicReferral, TopicSystem}
}

// Event is one Kafka record to produce.
type Event struct {
	Topic string
	// Key is the player id, so that a player's events stay on one
	// partition; nil for system events.
	Key    []byte
	Value  []byte
	Expect Expect
}

// Expect is what the example configuration makes of an event.
type Expect struct {
	// Model is the Optikpi model (kind name) the event is delivered as; ""
	// for a bad or skipped event.
	Model string
	// Reason is "" when the event should be delivered (or skipped), else
	// Unparseable, Unrouted, Invalid, or Rejected: mapped and sent, but
	// refused by a server applying the SDKs' strict rules.
	Reason failure.Reason
	// Skipped is true for an event a skip route drops (only generated with
	// Options.SkipRate).
	Skipped bool
	// EventID is the event_id the Optikpi record carries when the event has
	// one; "" when the model has none or it is derived from the offset.
	EventID string
}

// Options tune a Generator.
type Options struct {
	// Players is the number of distinct players. Default 1000.
	Players int
	// BadRate is the share of bad events (unparseable, unrouted, invalid,
	// rejected). 0 means the default, 0.01; a negative rate makes none.
	BadRate float64
	// SkipRate is the share of events the example configuration skips
	// (logouts, bet placements, heartbeats). Default 0: none.
	SkipRate float64
	// Start is the time of the first event; events are a few hundred
	// milliseconds apart. Default 2025-01-01T00:00:00Z, so that a seed
	// always gives the same bytes.
	Start time.Time
	// Clock, if set, gives each event its time instead of the simulated
	// clock, so that a receiver can measure how long an event took to
	// arrive (relay bench). Output then depends on when it is made.
	Clock func() time.Time
}

// Generator makes events. It is not safe for concurrent use.
type Generator struct {
	rnd     *rand.Rand
	opts    Options
	now     time.Time
	players []*player
	joined  int     // players registered so far
	pending []Event // events due right after the last one (a wallet change after a bet)
	seq     uint64
}

// New returns a generator whose output depends only on seed and opts.
func New(seed int64, opts Options) *Generator {
	if opts.Players <= 0 {
		opts.Players = 1000
	}
	switch {
	case opts.BadRate == 0:
		opts.BadRate = 0.01
	case opts.BadRate < 0:
		opts.BadRate = 0
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	g := &Generator{
		rnd:  rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		opts: opts,
		now:  opts.Start,
	}
	g.players = make([]*player, opts.Players)
	for i := range g.players {
		g.players[i] = g.newPlayer(100000 + i)
	}
	return g
}

// Next returns the next event.
func (g *Generator) Next() Event {
	g.tick()
	if len(g.pending) > 0 {
		ev := g.pending[0]
		g.pending = g.pending[1:]
		return ev
	}
	if r := g.rnd.Float64(); r < g.opts.BadRate {
		return g.bad()
	} else if r < g.opts.BadRate+g.opts.SkipRate {
		return g.skipped()
	}
	// Until some players exist, and now and then after, a player joins.
	if g.joined < len(g.players) && (g.joined < 10 || g.rnd.IntN(20) == 0) {
		return g.register(g.players[g.joined])
	}
	p := g.players[g.rnd.IntN(g.joined)]
	return g.pick(p)
}

// Deposit returns a deposit of a random player, with nothing around it: no
// registrations, balance changes or bad events; a stream of one model for
// a benchmark.
func (g *Generator) Deposit() Event {
	g.tick()
	ev := g.deposit(g.players[g.rnd.IntN(len(g.players))])
	g.pending = g.pending[:0]
	return ev
}

// tick advances the time of the next event.
func (g *Generator) tick() {
	if g.opts.Clock != nil {
		g.now = g.opts.Clock()
		return
	}
	g.now = g.now.Add(time.Duration(1+g.rnd.IntN(400)) * time.Millisecond)
}

// weighted is the mix of a normal stream.
var weighted = []struct {
	weight int
	make   func(g *Generator, p *player) Event
}{
	{14, (*Generator).login},
	{4, (*Generator).profileUpdated},
	{3, (*Generator).verification},
	{3, (*Generator).attributes},
	{12, (*Generator).deposit},
	{4, (*Generator).withdrawal},
	{36, (*Generator).round},
	{4, (*Generator).bonus},
	{3, (*Generator).freeSpins},
	{6, (*Generator).walletChange},
	{3, (*Generator).referral},
	{2, (*Generator).system},
}

var totalWeight = func() int {
	n := 0
	for _, w := range weighted {
		n += w.weight
	}
	return n
}()

func (g *Generator) pick(p *player) Event {
	n := g.rnd.IntN(totalWeight)
	for _, w := range weighted {
		if n < w.weight {
			return w.make(g, p)
		}
		n -= w.weight
	}
	panic("unreachable")
}

// id returns a fresh event id with a prefix.
func (g *Generator) id(prefix string) string {
	g.seq++
	return prefix + "_" + strconv.FormatUint(g.seq, 36) + strconv.FormatUint(g.rnd.Uint64()>>40, 36)
}

func (g *Generator) event(topic string, p *player, model, eventID string, v any) Event {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("gen: %v", err)) // the event types are all plain structs
	}
	var key []byte
	if p != nil {
		key = []byte(p.idText())
	}
	return Event{Topic: topic, Key: key, Value: b, Expect: Expect{Model: model, EventID: eventID}}
}

func (g *Generator) rfc3339(t time.Time) string {
	// Operators' services write local times with their offset.
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -5*3600), time.FixedZone("", 5*3600+1800)}
	return t.In(zones[g.rnd.IntN(len(zones))]).Format(time.RFC3339Nano)
}

func (g *Generator) chance(p float64) bool { return g.rnd.Float64() < p }

func (g *Generator) oneOf(list []string) string { return list[g.rnd.IntN(len(list))] }

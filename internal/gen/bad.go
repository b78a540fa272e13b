package gen

import (
	"bytes"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

// bad returns an event the relay must dead-letter, or one a strict server
// rejects, each with its reason.
func (g *Generator) bad() Event {
	p := g.registered()
	if p == nil {
		return g.register(g.players[0])
	}
	var ev Event
	switch g.rnd.IntN(4) {
	case 0: // a producer crashed mid-write: a cut JSON object
		ev = g.pick(p)
		ev.Value = ev.Value[:1+g.rnd.IntN(len(ev.Value)-1)]
		ev.Expect = Expect{Reason: failure.Unparseable}
	case 1: // a new event type nobody mapped yet
		ev = g.unrouted(p)
	case 2:
		ev = g.invalid(p)
	default: // a refund booked as a negative deposit: a number, as the guide asks, but not > 0
		pe, id := g.payment(p, "deposit.completed", "DEPOSIT_OK", -p.unitsOf(int64(10*(1+g.rnd.IntN(5)))))
		ev = g.event(TopicPayments, p, "", id, pe)
		ev.Expect.Reason = failure.Rejected
	}
	ev.Expect.Model = ""
	return ev
}

func (g *Generator) unrouted(p *player) Event {
	switch g.rnd.IntN(3) {
	case 0:
		pe, id := g.payment(p, "chargeback.opened", "CHARGEBACK", p.unitsOf(25))
		return g.withReason(g.event(TopicPayments, p, "", id, pe), failure.Unrouted)
	case 1:
		ev := g.profileEvent(p, "player.password_changed")
		ev.Profile, ev.KYC, ev.Limits = nil, nil, nil
		return g.withReason(g.event(TopicPlayers, p, "", "", ev), failure.Unrouted)
	default:
		id := g.id("act")
		return g.withReason(g.event(TopicActivity, p, "", id, activityEvent{
			EventID: id, EventType: "password_reset", Timestamp: g.rfc3339(g.now), User: activityUser{p.id},
			Context: context{Device: "Desktop", IP: g.ip()},
		}), failure.Unrouted)
	}
}

func (g *Generator) invalid(p *player) Event {
	switch g.rnd.IntN(3) {
	case 0: // no player id: user_id is required
		pe, id := g.payment(p, "deposit.completed", "DEPOSIT_OK", p.unitsOf(50))
		pe.PlayerID = ""
		return g.withReason(g.event(TopicPayments, p, "", id, pe), failure.Invalid)
	case 1: // a time written by hand
		be, id := g.roundEvent(p, "round.settled")
		be.SettledAt = "yesterday 21:40"
		return g.withReason(g.event(TopicBets, p, "", id, be), failure.Invalid)
	default: // a currency without a known exponent
		ev := g.wallet(p, "adjustment")
		ev.Value = bytes.Replace(ev.Value, []byte(`"currency":"`+p.currency+`"`), []byte(`"currency":"XBT"`), 1)
		return g.withReason(ev, failure.Invalid)
	}
}

func (g *Generator) withReason(ev Event, reason failure.Reason) Event {
	ev.Expect = Expect{Reason: reason, EventID: ev.Expect.EventID}
	return ev
}

// skipped returns an event a skip route of the example configuration drops.
func (g *Generator) skipped() Event {
	p := g.registered()
	if p == nil {
		return g.register(g.players[0])
	}
	var ev Event
	switch g.rnd.IntN(3) {
	case 0:
		id := g.id("act")
		ev = g.event(TopicActivity, p, "", id, activityEvent{
			EventID: id, EventType: "logout", Timestamp: g.rfc3339(g.now), User: activityUser{p.id},
			Context: context{Device: g.oneOf(devicesList), IP: g.ip()},
		})
	case 1:
		be, id := g.roundEvent(p, "bet.placed")
		ev = g.event(TopicBets, p, "", id, be)
	default:
		id := g.id("sys")
		ev = g.event(TopicSystem, nil, "", id, systemEvent{ID: id, Name: "heartbeat", At: g.rfc3339(g.now)})
	}
	ev.Expect = Expect{Skipped: true}
	return ev
}

// registered returns a random registered player, nil before the first.
func (g *Generator) registered() *player {
	if g.joined == 0 {
		return nil
	}
	return g.players[g.rnd.IntN(g.joined)]
}

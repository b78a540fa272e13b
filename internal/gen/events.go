package gen

import (
	"encoding/json"
	"strconv"
	"time"
)

// The shapes of the reference schema, as docs/events.md describes them.

// playerEvent is on the players topic: state of a player.
type playerEvent struct {
	Type       string         `json:"type"` // player.registered, player.profile_updated, player.attributes_updated
	EventID    string         `json:"event_id"`
	TS         int64          `json:"ts"` // epoch milliseconds
	PlayerID   string         `json:"player_id,omitempty"`
	Profile    *profile       `json:"profile,omitempty"`
	KYC        *kyc           `json:"kyc,omitempty"`
	Consents   *consents      `json:"consents,omitempty"`
	Limits     *limits        `json:"limits,omitempty"`
	RG         *rg            `json:"responsible_gaming,omitempty"`
	VIP        *vip           `json:"vip,omitempty"`
	Status     string         `json:"status,omitempty"`
	Risk       *risk          `json:"risk,omitempty"`
	Marketing  *marketing     `json:"marketing,omitempty"`
	Devices    *devices       `json:"devices,omitempty"`
	Prefs      map[string]any `json:"preferences,omitempty"`
	List       string         `json:"list,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

type profile struct {
	Username  string  `json:"username"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Email     string  `json:"email"`
	Phone     string  `json:"phone"`
	BirthDate string  `json:"birth_date"`
	Gender    string  `json:"gender"` // M, F, X
	Address   address `json:"address"`
	Locale    string  `json:"locale"`
	Currency  string  `json:"currency"`
	CreatedAt int64   `json:"created_at"` // epoch seconds
}

type address struct {
	Country string `json:"country"`
	City    string `json:"city"`
}

type kyc struct {
	EmailVerified bool   `json:"email_verified"`
	PhoneVerified bool   `json:"phone_verified"`
	IDDocument    string `json:"id_document_status"` // NONE, PENDING, APPROVED, REJECTED
	Bank          string `json:"bank_status"`
}

type consents struct {
	Email      bool `json:"email"`
	SMS        bool `json:"sms"`
	Push       bool `json:"push"`
	Newsletter bool `json:"newsletter"`
}

type limits struct {
	DepositDailyMinor int64 `json:"deposit_daily_minor"`
	LossDailyMinor    int64 `json:"loss_daily_minor"`
	WagerDailyMinor   int64 `json:"wager_daily_minor"`
	SessionMinutes    int   `json:"session_minutes"`
}

type rg struct {
	SelfExcludedUntil int64  `json:"self_excluded_until,omitempty"` // epoch seconds
	CoolOffUntil      string `json:"cool_off_until,omitempty"`      // RFC 3339
	RealityCheckMins  int    `json:"reality_check_minutes"`
}

type vip struct {
	Level int    `json:"level"` // 0 to 4
	Tier  string `json:"tier"`
}

type risk struct {
	Score        float64 `json:"score"`
	Level        string  `json:"level"`
	BonusAbuser  bool    `json:"bonus_abuser"`
	RealMoneyOff bool    `json:"real_money_disabled"`
}

type marketing struct {
	Source       string `json:"source"`
	AffiliateID  string `json:"affiliate_id,omitempty"`
	ReferralCode string `json:"referral_code"`
}

type devices struct {
	PushToken string `json:"push_token,omitempty"`
	Platform  string `json:"platform"`
}

// activityEvent is on the player-activity topic: what a player does with
// the account.
type activityEvent struct {
	EventID      string        `json:"event_id"`
	EventType    string        `json:"event_type"` // registration, login, logout, verification
	Timestamp    string        `json:"timestamp"`  // RFC 3339 with offset
	User         activityUser  `json:"user"`
	Context      context       `json:"context"`
	Verification *verification `json:"verification,omitempty"`
}

type activityUser struct {
	ID int `json:"id"` // a number on this topic
}

type context struct {
	Device      string `json:"device"`
	IP          string `json:"ip"`
	AffiliateID string `json:"affiliate_id,omitempty"`
	Campaign    string `json:"campaign,omitempty"`
}

type verification struct {
	Kind   string `json:"kind"`   // email, phone, document, bank
	Status string `json:"status"` // approved, rejected, pending
	Reason string `json:"reason,omitempty"`
}

// paymentEvent is on the payments topic, deposits and withdrawals mixed.
type paymentEvent struct {
	EventID     string          `json:"event_id"`
	Type        string          `json:"type"`   // deposit.completed, deposit.failed, withdrawal.requested, withdrawal.completed, withdrawal.failed
	Status      string          `json:"status"` // DEPOSIT_OK, DEPOSIT_FIRST, …
	PlayerID    string          `json:"player_id,omitempty"`
	CreatedAt   string          `json:"created_at"` // RFC 3339 with offset
	TxnID       string          `json:"txn_id"`
	AmountMinor int64           `json:"amount_minor"`
	Currency    string          `json:"currency"`
	Method      string          `json:"method"` // CARD, BANK_TRANSFER, EWALLET, VOUCHER
	PSP         psp             `json:"psp"`
	Failure     *paymentFailure `json:"failure,omitempty"`
}

type psp struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type paymentFailure struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// betEvent is on the bets topic.
type betEvent struct {
	RoundID    string   `json:"round_id"`
	Type       string   `json:"type"` // round.settled, bet.placed
	Player     betUser  `json:"player"`
	SettledAt  any      `json:"settled_at"` // epoch seconds with a fraction
	Game       game     `json:"game"`
	StakeMinor int64    `json:"stake_minor"`
	WinMinor   int64    `json:"win_minor"`
	Currency   string   `json:"currency"` // lower case on this topic
	Wallet     string   `json:"wallet"`   // cash, bonus
	Spins      int      `json:"spins,omitempty"`
	Channel    string   `json:"channel"`
	Outcome    string   `json:"outcome"` // win, loss, push
	Jackpot    *jackpot `json:"jackpot,omitempty"`
}

type betUser struct {
	ID string `json:"id"`
}

type game struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Provider   string  `json:"provider"`
	Category   string  `json:"category"` // slots, live_casino, table, poker, crash
	RTP        float64 `json:"rtp"`
	Volatility string  `json:"volatility,omitempty"`
}

type jackpot struct {
	Type        string `json:"type"`
	AmountMinor int64  `json:"amount_minor"`
}

// bonusEvent is on the bonuses topic.
type bonusEvent struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"` // bonus.granted, freespins.awarded
	PlayerID  string     `json:"player_id"`
	At        string     `json:"at"` // RFC 3339 with offset
	Bonus     *bonus     `json:"bonus,omitempty"`
	FreeSpins *freeSpins `json:"freespins,omitempty"`
	Campaign  *campaign  `json:"campaign,omitempty"`
}

type bonus struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Amount       string `json:"amount"` // a decimal string
	Currency     string `json:"currency"`
	Code         string `json:"code,omitempty"`
	WageringDone string `json:"wagering_done"` // yes, no
}

type freeSpins struct {
	Count     string `json:"count"` // a string holding an integer
	GameID    string `json:"game_id"`
	GameName  string `json:"game_name"`
	StartsAt  string `json:"starts_at"`
	ExpiresAt string `json:"expires_at"`
}

type campaign struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// walletEvent is on the wallets topic; it has no event id.
type walletEvent struct {
	PlayerID  int     `json:"player_id"`
	Wallet    string  `json:"wallet"`
	Currency  string  `json:"currency"`
	Balance   balance `json:"balance"`
	ChangedAt int64   `json:"changed_at"` // epoch milliseconds
	Reason    string  `json:"reason"`
}

type balance struct {
	CashMinor   int64 `json:"cash_minor"`
	BonusMinor  int64 `json:"bonus_minor"`
	TotalMinor  int64 `json:"total_minor"`
	LockedMinor int64 `json:"locked_minor"`
}

// referralEvent is on the referrals topic.
type referralEvent struct {
	EventID    string  `json:"event_id"`
	Type       string  `json:"type"` // referral.signed_up, referral.qualified, referral.reward_claimed
	ReferrerID string  `json:"referrer_id"`
	OccurredAt int64   `json:"occurred_at"` // epoch milliseconds
	Code       string  `json:"code"`
	Qualified  string  `json:"qualified"` // Y, N
	Reward     reward  `json:"reward"`
	Referee    referee `json:"referee"`
}

type reward struct {
	Type   string `json:"type"`   // BONUS, CASH, FREE_SPINS, POINTS
	Status string `json:"status"` // PENDING, CLAIMED, EXPIRED
}

type referee struct {
	ID                int    `json:"id"`
	RegisteredAt      int64  `json:"registered_at"` // epoch seconds
	FirstDepositMinor *int64 `json:"first_deposit_minor,omitempty"`
	Currency          string `json:"currency"`
}

// systemEvent is on the system topic.
type systemEvent struct {
	ID   string         `json:"id"`
	Name string         `json:"name"` // maintenance.started, game.disabled, …, heartbeat
	At   string         `json:"at"`
	Data map[string]any `json:"data,omitempty"`
}

var (
	devicesList = []string{"Desktop", "iOS", "Android", "Mobile-Web"}
	methods     = []string{"CARD", "BANK_TRANSFER", "EWALLET", "VOUCHER"}
	psps        = []psp{{"psp_01", "Worldpay"}, {"psp_02", "Skrill"}, {"psp_03", "Trustly"}, {"psp_04", "Paysafecard"}}
	games       = []game{
		{"g_starburst", "Starburst", "NetEnt", "slots", 96.09, "low"},
		{"g_bookofdead", "Book of Dead", "Play'n GO", "slots", 96.21, "high"},
		{"g_lightning", "Lightning Roulette", "Evolution", "live_casino", 97.3, ""},
		{"g_blackjack", "Blackjack Classic", "NetEnt", "table", 99.5, ""},
		{"g_holdem", "Texas Hold'em", "Playtech", "poker", 98.0, ""},
		{"g_aviator", "Aviator", "Spribe", "crash", 97.0, "medium"},
	}
	systemNames = []string{"maintenance.started", "maintenance.finished", "game.disabled", "game.enabled", "jackpot.seeded"}
	attrLists   = []string{"BINGO_PREFERENCES", "sports_interests", "game-favourites"}
)

func (g *Generator) register(p *player) Event {
	g.joined++
	p.createdAt = g.now
	ev := g.event(TopicPlayers, p, "customer", "", g.profileEvent(p, "player.registered"))
	// The account service announces the registration on its own topic.
	actID := g.id("act")
	g.pending = append(g.pending, g.event(TopicActivity, p, "account", actID, activityEvent{
		EventID: actID, EventType: "registration", Timestamp: g.rfc3339(g.now.Add(20 * time.Millisecond)),
		User:    activityUser{p.id},
		Context: context{Device: g.oneOf(devicesList), IP: g.ip(), AffiliateID: p.affiliate, Campaign: g.campaignCode()},
	}))
	return ev
}

func (g *Generator) profileUpdated(p *player) Event {
	switch g.rnd.IntN(4) {
	case 0:
		p.city = g.oneOf([]string{"Sliema", "Hamburg", "Gothenburg", "Manchester"})
	case 1:
		p.vipLevel = min(4, p.vipLevel+1)
	case 2:
		p.phone = "+356" + strconv.Itoa(79000000+g.rnd.IntN(999999))
	}
	return g.event(TopicPlayers, p, "customer", "", g.profileEvent(p, "player.profile_updated"))
}

var tiers = []string{"bronze", "silver", "gold", "platinum", "diamond"}

// profileEvent is the full profile: the platform publishes snapshots, and a
// customer profile is state, so a partial one would erase fields.
func (g *Generator) profileEvent(p *player, typ string) playerEvent {
	ev := playerEvent{
		Type: typ, EventID: g.id("pl"), TS: g.now.UnixMilli(), PlayerID: p.idText(),
		Profile: &profile{
			Username: p.username, FirstName: p.first, LastName: p.last, Email: p.email, Phone: p.phone,
			BirthDate: p.birthDate, Gender: p.gender, Address: address{p.country, p.city},
			Locale: p.locale, Currency: p.currency, CreatedAt: p.createdAt.Unix(),
		},
		KYC: &kyc{EmailVerified: g.chance(0.8), PhoneVerified: g.chance(0.6),
			IDDocument: g.oneOf([]string{"NONE", "PENDING", "APPROVED", "APPROVED", "REJECTED"}),
			Bank:       g.oneOf([]string{"NONE", "PENDING", "APPROVED"})},
		Consents: &consents{Email: g.chance(0.6), SMS: g.chance(0.4), Push: g.chance(0.5), Newsletter: g.chance(0.5)},
		Limits: &limits{DepositDailyMinor: p.unitsOf(int64(100 * (1 + g.rnd.IntN(20)))), LossDailyMinor: p.unitsOf(int64(50 * (1 + g.rnd.IntN(20)))),
			WagerDailyMinor: p.unitsOf(int64(500 * (1 + g.rnd.IntN(10)))), SessionMinutes: 30 * (1 + g.rnd.IntN(8))},
		RG:        &rg{RealityCheckMins: 30 * (1 + g.rnd.IntN(4))},
		VIP:       &vip{Level: p.vipLevel, Tier: tiers[p.vipLevel]},
		Status:    p.status,
		Risk:      &risk{Score: float64(g.rnd.IntN(100)) / 100, Level: g.oneOf([]string{"low", "low", "medium", "high"}), BonusAbuser: g.chance(0.02)},
		Marketing: &marketing{Source: g.oneOf([]string{"google-ads", "affiliate", "organic", "tv"}), AffiliateID: p.affiliate, ReferralCode: p.referral},
		Devices:   &devices{Platform: g.oneOf([]string{"web", "ios", "android"})},
		Prefs:     map[string]any{"theme": g.oneOf([]string{"dark", "light"}), "favourite_category": g.oneOf([]string{"slots", "live_casino", "poker"})},
	}
	if ev.Devices.Platform != "web" {
		ev.Devices.PushToken = "pt_" + strconv.FormatUint(g.rnd.Uint64(), 36)
	}
	if g.chance(0.05) {
		ev.RG.SelfExcludedUntil = g.now.Add(time.Duration(30+g.rnd.IntN(300)) * 24 * time.Hour).Unix()
	}
	if g.chance(0.05) {
		ev.RG.CoolOffUntil = g.rfc3339(g.now.Add(time.Duration(1+g.rnd.IntN(7)) * 24 * time.Hour).Truncate(time.Second))
	}
	return ev
}

func (g *Generator) attributes(p *player) Event {
	list := g.oneOf(attrLists)
	attrs := map[string]any{"Email": g.oneOf([]string{"True", "False"}), "SMS": g.oneOf([]string{"True", "False"}), "updated_by": "crm"}
	if list != "BINGO_PREFERENCES" {
		attrs["weight"] = g.rnd.IntN(10)
	}
	return g.event(TopicPlayers, p, "ext_attributes", "", playerEvent{
		Type: "player.attributes_updated", EventID: g.id("pl"), TS: g.now.UnixMilli(), PlayerID: p.idText(),
		List: list, Attributes: attrs,
	})
}

func (g *Generator) ip() string {
	return "203.0.113." + strconv.Itoa(1+g.rnd.IntN(254))
}

func (g *Generator) campaignCode() string {
	if g.chance(0.5) {
		return ""
	}
	return g.oneOf([]string{"WELCOME100", "SPRING25", "VIPWEEK"})
}

func (g *Generator) login(p *player) Event {
	id := g.id("act")
	return g.event(TopicActivity, p, "account", id, activityEvent{
		EventID: id, EventType: "login", Timestamp: g.rfc3339(g.now),
		User: activityUser{p.id}, Context: context{Device: g.oneOf(devicesList), IP: g.ip()},
	})
}

func (g *Generator) verification(p *player) Event {
	id := g.id("act")
	v := &verification{Kind: g.oneOf([]string{"email", "phone", "document", "bank"}), Status: g.oneOf([]string{"approved", "approved", "rejected", "pending"})}
	if v.Status == "rejected" {
		v.Reason = g.oneOf([]string{"document expired", "name mismatch", "unreadable scan"})
	}
	return g.event(TopicActivity, p, "account", id, activityEvent{
		EventID: id, EventType: "verification", Timestamp: g.rfc3339(g.now),
		User: activityUser{p.id}, Context: context{Device: g.oneOf(devicesList), IP: g.ip()}, Verification: v,
	})
}

func (g *Generator) payment(p *player, typ, status string, amount int64) (paymentEvent, string) {
	id := g.id("pay")
	return paymentEvent{
		EventID: id, Type: typ, Status: status, PlayerID: p.idText(), CreatedAt: g.rfc3339(g.now),
		TxnID: g.id("txn"), AmountMinor: amount, Currency: p.currency, Method: g.oneOf(methods),
		PSP: psps[g.rnd.IntN(len(psps))],
	}, id
}

func (g *Generator) deposit(p *player) Event {
	amount := p.unitsOf(int64(10 * (1 + g.rnd.IntN(50))))
	if g.chance(0.1) {
		ev, id := g.payment(p, "deposit.failed", "DEPOSIT_DECLINED", amount)
		ev.Failure = &paymentFailure{Code: "insufficient_funds", Message: "Card declined by issuer"}
		return g.event(TopicPayments, p, "deposit", id, ev)
	}
	p.deposits++
	status := "DEPOSIT_OK"
	switch p.deposits {
	case 1:
		status = "DEPOSIT_FIRST"
	case 2:
		status = "DEPOSIT_SECOND"
	case 3:
		status = "DEPOSIT_THIRD"
	}
	ev, id := g.payment(p, "deposit.completed", status, amount)
	p.cash += amount
	g.pending = append(g.pending, g.wallet(p, "deposit"))
	return g.event(TopicPayments, p, "deposit", id, ev)
}

func (g *Generator) withdrawal(p *player) Event {
	amount := p.unitsOf(int64(20 * (1 + g.rnd.IntN(20))))
	typ, status := "withdrawal.requested", "WITHDRAWAL_REQUESTED"
	switch g.rnd.IntN(3) {
	case 1:
		typ, status = "withdrawal.completed", "WITHDRAWAL_OK"
		p.cash = max(0, p.cash-amount)
		g.pending = append(g.pending, g.wallet(p, "withdrawal"))
	case 2:
		typ, status = "withdrawal.failed", "WITHDRAWAL_DECLINED"
	}
	ev, id := g.payment(p, typ, status, amount)
	if status == "WITHDRAWAL_DECLINED" {
		ev.Failure = &paymentFailure{Code: "kyc_required", Message: "Identity verification required"}
	}
	return g.event(TopicPayments, p, "withdraw", id, ev)
}

func (g *Generator) roundEvent(p *player, typ string) (betEvent, string) {
	gm := games[g.rnd.IntN(len(games))]
	stake := p.unitsOf(int64(1+g.rnd.IntN(10))) / 10
	var win int64
	outcome := "loss"
	if g.chance(0.4) {
		win = stake * int64(1+g.rnd.IntN(5))
		outcome = "win"
	}
	id := g.id("rnd")
	ev := betEvent{
		RoundID: id, Type: typ, Player: betUser{p.idText()},
		SettledAt: json.Number(strconv.FormatFloat(float64(g.now.UnixMilli())/1000, 'f', 3, 64)),
		Game:      gm, StakeMinor: stake, WinMinor: win, Currency: toLower(p.currency),
		Wallet: g.oneOf([]string{"cash", "cash", "cash", "bonus"}), Channel: g.oneOf([]string{"web", "ios", "android"}), Outcome: outcome,
	}
	if gm.Category == "slots" {
		ev.Spins = 1 + g.rnd.IntN(20)
	}
	if g.chance(0.01) {
		ev.Jackpot = &jackpot{Type: "progressive", AmountMinor: p.unitsOf(int64(1000 + g.rnd.IntN(100000)))}
	}
	return ev, id
}

func (g *Generator) round(p *player) Event {
	ev, id := g.roundEvent(p, "round.settled")
	if g.chance(0.3) {
		p.cash = max(0, p.cash-ev.StakeMinor+ev.WinMinor)
		g.pending = append(g.pending, g.wallet(p, "bet"))
	}
	return g.event(TopicBets, p, "gaming_activity", id, ev)
}

func (g *Generator) bonus(p *player) Event {
	id := g.id("bon")
	units := 5 * (1 + g.rnd.IntN(20))
	ev := bonusEvent{
		ID: id, Kind: "bonus.granted", PlayerID: p.idText(), At: g.rfc3339(g.now),
		Bonus: &bonus{ID: g.id("b"), Type: g.oneOf([]string{"deposit_match", "cashback", "no_deposit"}),
			Amount: strconv.Itoa(units) + ".00", Currency: p.currency, Code: g.campaignCode(), WageringDone: g.oneOf([]string{"yes", "no"})},
		Campaign: &campaign{ID: "cmp_" + strconv.Itoa(1+g.rnd.IntN(9)), Name: g.oneOf([]string{"Weekend Reload", "Welcome Offer", "VIP Cashback"})},
	}
	p.bonus += p.unitsOf(int64(units))
	g.pending = append(g.pending, g.wallet(p, "bonus"))
	return g.event(TopicBonuses, p, "gaming_activity", id, ev)
}

func (g *Generator) freeSpins(p *player) Event {
	id := g.id("bon")
	gm := games[g.rnd.IntN(2)] // slots only
	start := g.now.Truncate(time.Second)
	ev := bonusEvent{
		ID: id, Kind: "freespins.awarded", PlayerID: p.idText(), At: g.rfc3339(g.now),
		FreeSpins: &freeSpins{Count: strconv.Itoa(10 * (1 + g.rnd.IntN(10))), GameID: gm.ID, GameName: gm.Name,
			StartsAt: g.rfc3339(start), ExpiresAt: g.rfc3339(start.Add(7 * 24 * time.Hour))},
	}
	return g.event(TopicBonuses, p, "gaming_activity", id, ev)
}

// wallet is the balance change that follows a money event; the wallet
// service puts no id on it, so the relay derives one.
func (g *Generator) wallet(p *player, reason string) Event {
	locked := int64(0)
	if g.chance(0.1) {
		locked = p.cash / 4
	}
	return g.event(TopicWallets, p, "wallet_balance", "", walletEvent{
		PlayerID: p.id, Wallet: "main", Currency: p.currency,
		Balance:   balance{CashMinor: p.cash, BonusMinor: p.bonus, TotalMinor: p.cash + p.bonus, LockedMinor: locked},
		ChangedAt: g.now.Add(5 * time.Millisecond).UnixMilli(), Reason: reason,
	})
}

func (g *Generator) walletChange(p *player) Event { return g.wallet(p, "adjustment") }

func (g *Generator) referral(p *player) Event {
	id := g.id("ref")
	friend := g.players[g.rnd.IntN(len(g.players))]
	ev := referralEvent{
		EventID: id, ReferrerID: p.idText(), OccurredAt: g.now.UnixMilli(), Code: p.referral, Qualified: "N",
		Reward:  reward{Type: g.oneOf([]string{"BONUS", "CASH", "FREE_SPINS", "POINTS"}), Status: "PENDING"},
		Referee: referee{ID: friend.id, RegisteredAt: g.now.Add(-time.Duration(g.rnd.IntN(72)) * time.Hour).Unix(), Currency: friend.currency},
	}
	switch g.rnd.IntN(3) {
	case 0:
		ev.Type = "referral.signed_up"
	case 1:
		ev.Type, ev.Qualified = "referral.qualified", "Y"
		first := friend.unitsOf(int64(10 * (1 + g.rnd.IntN(10))))
		ev.Referee.FirstDepositMinor = &first
	default:
		ev.Type, ev.Qualified, ev.Reward.Status = "referral.reward_claimed", "Y", "CLAIMED"
	}
	return g.event(TopicReferral, p, "refer_friend", id, ev)
}

func (g *Generator) system(_ *player) Event {
	id := g.id("sys")
	name := g.oneOf(systemNames)
	data := map[string]any{"source": "platform"}
	switch name {
	case "game.disabled", "game.enabled":
		data["game_id"] = games[g.rnd.IntN(len(games))].ID
	case "maintenance.started":
		data["window_minutes"] = 30
	case "jackpot.seeded":
		data["amount"] = 10000
	}
	return g.event(TopicSystem, nil, "system_event", id, systemEvent{ID: id, Name: name, At: g.rfc3339(g.now), Data: data})
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

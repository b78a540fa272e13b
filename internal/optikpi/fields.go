package optikpi

import (
	"fmt"
	"regexp"
	"slices"
)

// FieldType is the JSON type a model field must have.
type FieldType uint8

// The field types of the integration guide.
const (
	TypeString   FieldType = iota + 1
	TypeNumber             // a finite JSON number
	TypeInteger            // a finite JSON number with an integral value
	TypeBoolean            // true or false
	TypeDateTime           // RFC 3339 UTC with seconds: 2024-01-15T10:30:00Z, 2024-01-15T10:30:00.123Z
	TypeDate               // a calendar date: 1990-05-15
	TypeEmail              // a string matching ^[^\s@]+@[^\s@]+\.[^\s@]+$
	TypeJSON               // an object, or a string holding valid JSON
)

var fieldTypeNames = [...]string{
	TypeString:   "string",
	TypeNumber:   "number",
	TypeInteger:  "integer",
	TypeBoolean:  "boolean",
	TypeDateTime: "date-time",
	TypeDate:     "date",
	TypeEmail:    "email",
	TypeJSON:     "JSON",
}

func (t FieldType) String() string {
	if t < TypeString || t > TypeJSON {
		return fmt.Sprintf("FieldType(%d)", uint8(t))
	}
	return fieldTypeNames[t]
}

// Bound is a lower bound on a number.
type Bound uint8

const (
	Unbounded   Bound = iota
	Positive          // > 0
	NonNegative       // >= 0
)

// StrictRules are the official SDKs' rules for a field beyond the guide's
// (sdk-notes.md). They apply only with ValidateOptions.Strict.
type StrictRules struct {
	Required bool           // the field must be present and non-empty
	Min      Bound          // for numbers
	OneOf    []string       // the allowed values of a string, nil for any
	Pattern  *regexp.Regexp // a string must match it, nil for any
}

// Field describes one field of a model.
type Field struct {
	Name     string // JSON name, such as "amount"
	Type     FieldType
	Required bool // the guide requires it: present, not null, not ""
	Strict   StrictRules
}

var (
	currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)
	listName     = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// eventFields prepends the header every event model shares.
func eventFields(fields ...Field) []Field {
	return append([]Field{
		{Name: "account_id", Type: TypeString, Required: true},
		{Name: "workspace_id", Type: TypeString, Required: true},
		{Name: "user_id", Type: TypeString, Required: true},
		{Name: "event_category", Type: TypeString, Required: true}, // must equal Kind.EventCategory
		{Name: "event_name", Type: TypeString, Required: true},
		{Name: "event_id", Type: TypeString, Required: true},
		{Name: "event_time", Type: TypeDateTime, Required: true},
	}, fields...)
}

// tables are the guide's models, field for field and in its order, which is
// also the encoding order. Fields the guide's own examples send outside them
// (ip_address, currency, status, metadata…) pass as extra fields.
var tables = [...][]Field{
	KindCustomer: {
		{Name: "account_id", Type: TypeString, Required: true},
		{Name: "workspace_id", Type: TypeString, Required: true},
		{Name: "user_id", Type: TypeString, Required: true},
		{Name: "username", Type: TypeString, Strict: StrictRules{Required: true}},
		{Name: "full_name", Type: TypeString},
		{Name: "first_name", Type: TypeString},
		{Name: "last_name", Type: TypeString},
		{Name: "date_of_birth", Type: TypeDate},
		{Name: "email", Type: TypeEmail, Strict: StrictRules{Required: true}},
		{Name: "phone_number", Type: TypeString},
		{Name: "gender", Type: TypeString, Strict: StrictRules{OneOf: []string{"Male", "Female", "Other"}}},
		{Name: "country", Type: TypeString},
		{Name: "city", Type: TypeString},
		{Name: "language", Type: TypeString},
		{Name: "currency", Type: TypeString},
		{Name: "phone_verification", Type: TypeString},
		{Name: "email_verification", Type: TypeString},
		{Name: "bank_verification", Type: TypeString},
		{Name: "iddoc_verification", Type: TypeString},
		{Name: "marketing_email_preference", Type: TypeString},
		{Name: "notifications_preference", Type: TypeString},
		{Name: "subscription", Type: TypeString},
		{Name: "privacy_settings", Type: TypeString},
		{Name: "deposit_limits", Type: TypeNumber},
		{Name: "loss_limits", Type: TypeNumber},
		{Name: "wagering_limits", Type: TypeNumber},
		{Name: "session_time_limits", Type: TypeNumber},
		{Name: "cooling_off_expiry_date", Type: TypeDateTime},
		{Name: "self_exclusion_expiry_date", Type: TypeDateTime},
		{Name: "reality_checks_notification", Type: TypeString},
		{Name: "vip_status", Type: TypeString},
		{Name: "loyalty_program_tiers", Type: TypeString},
		{Name: "account_status", Type: TypeString},
		{Name: "bonus_abuser", Type: TypeString},
		{Name: "financial_risk_level", Type: TypeNumber},
		{Name: "acquisition_source", Type: TypeString},
		{Name: "partner_id", Type: TypeString},
		{Name: "referral_link_code", Type: TypeString},
		{Name: "referral_limit_reached", Type: TypeString},
		{Name: "creation_timestamp", Type: TypeDateTime, Required: true},
		{Name: "risk_score_level", Type: TypeString},
		{Name: "marketing_sms_preference", Type: TypeString},
		{Name: "custom_data", Type: TypeJSON},
		{Name: "self_exclusion_by", Type: TypeString},
		{Name: "self_exclusion_by_type", Type: TypeString},
		{Name: "self_exclusion_check_time", Type: TypeDateTime},
		{Name: "self_exclusion_created_time", Type: TypeDateTime},
		{Name: "closed_time", Type: TypeDateTime},
		{Name: "real_money_enabled", Type: TypeString},
		{Name: "push_token", Type: TypeString},
		{Name: "andriod_push_token", Type: TypeString}, // sic, as the guide spells it
		{Name: "ios_push_token", Type: TypeString},
		{Name: "windows_push_token", Type: TypeString},
		{Name: "mac_dmg_push_token", Type: TypeString},
	},
	KindAccount: eventFields(
		Field{Name: "affiliate_id", Type: TypeString},
		Field{Name: "partner_id", Type: TypeString},
		Field{Name: "device", Type: TypeString},
		Field{Name: "campaign_code", Type: TypeString},
		Field{Name: "status", Type: TypeString},
		Field{Name: "reason", Type: TypeString},
	),
	KindDeposit: eventFields(
		Field{Name: "payment_method", Type: TypeString, Strict: StrictRules{Required: true}},
		Field{Name: "transaction_id", Type: TypeString, Strict: StrictRules{Required: true}},
		Field{Name: "amount", Type: TypeNumber, Required: true, Strict: StrictRules{Min: Positive}},
		Field{Name: "payment_provider_id", Type: TypeString},
		Field{Name: "payment_provider_name", Type: TypeString},
		Field{Name: "failure_reason", Type: TypeString},
	),
	KindWithdraw: eventFields(
		Field{Name: "amount", Type: TypeNumber, Required: true, Strict: StrictRules{Min: Positive}},
		Field{Name: "payment_method", Type: TypeString, Strict: StrictRules{Required: true}},
		Field{Name: "transaction_id", Type: TypeString, Strict: StrictRules{Required: true}},
		Field{Name: "failure_reason", Type: TypeString},
	),
	KindGamingActivity: eventFields(
		Field{Name: "wager_amount", Type: TypeNumber, Strict: StrictRules{Min: NonNegative}},
		Field{Name: "win_amount", Type: TypeNumber, Strict: StrictRules{Min: NonNegative}},
		Field{Name: "loss_amount", Type: TypeNumber},
		Field{Name: "game_id", Type: TypeString, Strict: StrictRules{Required: true}},
		Field{Name: "game_title", Type: TypeString, Strict: StrictRules{Required: true}},
		Field{Name: "provider", Type: TypeString},
		Field{Name: "bonus_id", Type: TypeString},
		Field{Name: "free_spin_id", Type: TypeString},
		Field{Name: "jackpot_amount", Type: TypeNumber},
		Field{Name: "num_spins_played", Type: TypeInteger},
		Field{Name: "game_theme", Type: TypeString},
		Field{Name: "remaining_spins", Type: TypeInteger},
		Field{Name: "bet_value_per_spin", Type: TypeNumber},
		Field{Name: "wagering_requirements_met", Type: TypeBoolean},
		Field{Name: "free_spin_expiry_date", Type: TypeDateTime},
		Field{Name: "campaign_id", Type: TypeString},
		Field{Name: "campaign_name", Type: TypeString},
		Field{Name: "rtp", Type: TypeNumber},
		Field{Name: "game_category", Type: TypeString},
		Field{Name: "winning_bet_amount", Type: TypeNumber},
		Field{Name: "jackpot_type", Type: TypeString},
		Field{Name: "volatility", Type: TypeString},
		Field{Name: "min_bet", Type: TypeNumber},
		Field{Name: "max_bet", Type: TypeNumber},
		Field{Name: "number_of_reels", Type: TypeInteger},
		Field{Name: "number_of_paylines", Type: TypeInteger},
		Field{Name: "feature_types", Type: TypeString},
		Field{Name: "game_release_date", Type: TypeDateTime},
		Field{Name: "live_dealer_availability", Type: TypeBoolean},
		Field{Name: "side_bets_availability", Type: TypeBoolean},
		Field{Name: "multiplayer_option", Type: TypeBoolean},
		Field{Name: "auto_play", Type: TypeBoolean},
		Field{Name: "poker_variant", Type: TypeString},
		Field{Name: "tournament_name", Type: TypeString},
		Field{Name: "buy_in_amount", Type: TypeNumber},
		Field{Name: "table_type", Type: TypeString},
		Field{Name: "stakes_level", Type: TypeString},
		Field{Name: "number_of_players", Type: TypeInteger},
		Field{Name: "game_duration", Type: TypeInteger},
		Field{Name: "hand_volume", Type: TypeInteger},
		Field{Name: "player_position", Type: TypeString},
		Field{Name: "final_hand", Type: TypeString},
		Field{Name: "rake_contribution", Type: TypeNumber},
		Field{Name: "multi_tabling_indicator", Type: TypeBoolean},
		Field{Name: "session_result", Type: TypeString},
		Field{Name: "vip_status", Type: TypeString},
		Field{Name: "blind_level", Type: TypeString},
		Field{Name: "rebuy_and_addon_info", Type: TypeString},
		Field{Name: "sport_type", Type: TypeString},
		Field{Name: "betting_market", Type: TypeString},
		Field{Name: "odds", Type: TypeNumber},
		Field{Name: "live_betting_availability", Type: TypeBoolean},
		Field{Name: "result", Type: TypeString},
		Field{Name: "bet_status", Type: TypeString},
		Field{Name: "betting_channel", Type: TypeString},
		Field{Name: "bonus_type", Type: TypeString},
		Field{Name: "bonus_amount", Type: TypeNumber},
		Field{Name: "free_spin_start_date", Type: TypeDateTime},
		Field{Name: "num_spins_awarded", Type: TypeInteger},
		Field{Name: "bonus_code", Type: TypeString},
		Field{Name: "parent_game_category", Type: TypeString},
		Field{Name: "currency", Type: TypeString, Strict: StrictRules{Pattern: currencyCode}},
		Field{Name: "money_type", Type: TypeString},
		Field{Name: "transaction_type", Type: TypeString},
	),
	KindWalletBalance: eventFields(
		Field{Name: "wallet_type", Type: TypeString},
		Field{Name: "currency", Type: TypeString, Strict: StrictRules{Pattern: currencyCode}},
		Field{Name: "current_cash_balance", Type: TypeNumber, Strict: StrictRules{Min: NonNegative}},
		Field{Name: "current_bonus_balance", Type: TypeNumber, Strict: StrictRules{Min: NonNegative}},
		Field{Name: "current_total_balance", Type: TypeNumber, Strict: StrictRules{Min: NonNegative}},
		Field{Name: "blocked_amount", Type: TypeNumber, Strict: StrictRules{Min: NonNegative}},
	),
	KindReferFriend: eventFields(
		Field{Name: "referral_code_used", Type: TypeString},
		Field{Name: "successful_referral_confirmation", Type: TypeBoolean},
		Field{Name: "reward_type", Type: TypeString, Strict: StrictRules{OneOf: []string{"bonus", "cash", "points", "free_spins", "other"}}},
		Field{Name: "reward_claimed_status", Type: TypeString, Strict: StrictRules{OneOf: []string{"pending", "claimed", "expired", "cancelled"}}},
		Field{Name: "referee_user_id", Type: TypeString},
		Field{Name: "referee_registration_date", Type: TypeDateTime},
		Field{Name: "referee_first_deposit", Type: TypeNumber, Strict: StrictRules{Min: NonNegative}},
	),
	KindExtAttributes: {
		// Not in the guide's table, but its examples and every SDK send it.
		{Name: "account_id", Type: TypeString},
		{Name: "workspace_id", Type: TypeString, Required: true},
		{Name: "user_id", Type: TypeString, Required: true},
		{Name: "list_name", Type: TypeString, Required: true, Strict: StrictRules{Pattern: listName}},
		{Name: "ext_data", Type: TypeJSON, Required: true},
	},
	// From the SDKs (sdk-notes.md); they say nothing of event_data being
	// required, so it is optional here.
	KindSystemEvent: {
		{Name: "account_id", Type: TypeString, Required: true},
		{Name: "workspace_id", Type: TypeString, Required: true},
		{Name: "event_category", Type: TypeString, Required: true},
		{Name: "event_name", Type: TypeString, Required: true},
		{Name: "event_id", Type: TypeString, Required: true},
		{Name: "event_time", Type: TypeDateTime, Required: true},
		{Name: "event_data", Type: TypeJSON},
	},
}

// maxFields bounds a table so that the encoder can mark present fields in a
// fixed bitmap.
const maxFields = 128

// model is a table with what validation and encoding look up per record.
type model struct {
	fields   []Field
	index    map[string]int // field name → table position
	required [2][]int       // positions of required fields: [0] guide, [1] strict
	// requiredSet marks the same positions, as Builder.set marks fields.
	requiredSet [2][maxFields / 64]uint64
	userID      int // position of user_id, -1 for none
	eventID     int // position of event_id, -1 for none
	// enc is, per position, what Builder.Encode writes and checks of a
	// field: an array, so that a position read off a bitmap needs no
	// bounds check.
	enc *[maxFields]encField
}

// encField is a field as Builder.Encode writes it.
type encField struct {
	// qkey is `,"name":"`: the key, and a string value's opening quote.
	qkey string
	// qpad is qkey padded with zeros, when it fits: written as one array,
	// without a call to copy a few bytes, where dst has the room.
	qpad  [qpadLen]byte
	short bool // qkey fits in qpad
	f     *Field
	// str is what a string value needs checked, by ValidateOptions.rules.
	str [2]strCheck
}

// key is `,"name":`, ready to append after a field or '{'.
func (e *encField) key() string { return e.qkey[:len(e.qkey)-1] }

// invalid is the error of issue with e's value.
func (e *encField) invalid(issue string) error {
	return &ValidationError{Field: e.f.Name, Issue: issue}
}

// qpadLen is the size of encField.qpad: most keys fit.
const qpadLen = 32

// strCheck is what checkString does for a string value of a field, decided
// once per model rather than per value. The zero value checks fully: at a
// position past the model's fields (a Set against its contract) it meets
// no Field and panics, as an index out of range did, rather than letting
// Encode write a value without its key.
type strCheck uint8

const (
	strFull     strCheck = iota // checkString
	strAny                      // nothing: any string passes
	strNonEmpty                 // issueEmpty for "", nothing else
)

// stringCheck is the strCheck of f in a model of the given event
// category: what checkString would look at.
func stringCheck(f *Field, strict bool, category string) strCheck {
	switch {
	case f.Type != TypeString,
		category != "" && f.Name == "event_category",
		strict && (f.Strict.OneOf != nil || f.Strict.Pattern != nil):
		return strFull
	case f.required(strict):
		return strNonEmpty
	}
	return strAny
}

// models is derived once from tables and never written afterwards.
var models = buildModels()

func buildModels() (ms [len(tables)]model) {
	for k := KindCustomer; k <= KindSystemEvent; k++ {
		fs := tables[k]
		if len(fs) > maxFields {
			panic(fmt.Sprintf("optikpi: model %s has %d fields, more than %d", k, len(fs), maxFields))
		}
		m := model{fields: fs, index: make(map[string]int, len(fs)), userID: -1, eventID: -1, enc: new([maxFields]encField)}
		for i, f := range fs {
			if _, dup := m.index[f.Name]; dup {
				panic(fmt.Sprintf("optikpi: model %s lists %q twice", k, f.Name))
			}
			m.index[f.Name] = i
			switch f.Name {
			case "user_id":
				m.userID = i
			case "event_id":
				m.eventID = i
			}
			e := &m.enc[i]
			*e = encField{qkey: string(appendString([]byte{','}, f.Name)) + `:"`, f: &fs[i],
				str: [2]strCheck{stringCheck(&fs[i], false, k.EventCategory()), stringCheck(&fs[i], true, k.EventCategory())}}
			e.short = copy(e.qpad[:], e.qkey) == len(e.qkey)
			if f.Required {
				m.required[0] = append(m.required[0], i)
				m.requiredSet[0][i/64] |= 1 << (i % 64)
			}
			if f.Required || f.Strict.Required {
				m.required[1] = append(m.required[1], i)
				m.requiredSet[1][i/64] |= 1 << (i % 64)
			}
		}
		ms[k] = m
	}
	return ms
}

// Fields returns k's fields in the guide's order, which is also the order
// AppendJSON writes them in. The slice is a copy, but the StrictRules in it
// share their OneOf slices with the package: don't modify them. nil for an
// invalid kind.
func (k Kind) Fields() []Field {
	if !k.Valid() {
		return nil
	}
	return slices.Clone(models[k].fields)
}

// Field returns k's field named name.
func (k Kind) Field(name string) (Field, bool) {
	if !k.Valid() {
		return Field{}, false
	}
	i, ok := models[k].index[name]
	if !ok {
		return Field{}, false
	}
	return models[k].fields[i], true
}

// CheckValue returns what validation finds wrong with v as the field name
// of k (with the SDKs' rules too when strict), or "" when nothing is, or k
// has no such field: the check of each record, for a value known before
// any record, such as a mapping rule's constant.
func (k Kind) CheckValue(name string, v Value, strict bool) string {
	f, ok := k.Field(name)
	if !ok {
		return ""
	}
	return v.check(&f, strict, k.EventCategory())
}

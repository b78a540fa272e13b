package optikpi

import (
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"testing"
)

const (
	testAccount   = "68911b7ad58ad825ec00c5ef"
	testWorkspace = "68911b7ad825ec00c5ef"
)

func event(category, name string, fields Record) Record {
	r := Record{
		"account_id":     testAccount,
		"workspace_id":   testWorkspace,
		"user_id":        "user123456",
		"event_category": category,
		"event_name":     name,
		"event_id":       "evt_" + name,
		"event_time":     "2024-01-15T14:45:00Z",
	}
	maps.Copy(r, fields)
	return r
}

// samples returns one record per kind that passes strict validation, with
// numbers as json.Number so that they survive a round trip unchanged.
func samples() map[Kind]Record {
	return map[Kind]Record{
		KindCustomer: {
			"account_id":           testAccount,
			"workspace_id":         testWorkspace,
			"user_id":              "user123",
			"username":             "john_doe",
			"full_name":            "John Doe",
			"date_of_birth":        "1990-05-15",
			"email":                "john.doe@example.com",
			"gender":               "Male",
			"currency":             "USD",
			"deposit_limits":       json.Number("1000.00"),
			"financial_risk_level": json.Number("0.3"),
			"creation_timestamp":   "2024-01-15T10:30:00.123Z",
			"closed_time":          nil,
			"custom_data":          map[string]any{"email": true, "sms": false},
			"cooling_off_period":   json.Number("7"), // outside the table, as in the guide's example
		},
		KindAccount: event("Account", "Player Registration", Record{
			"device": "desktop", "ip_address": "192.168.1.100", "status": "verified",
		}),
		KindDeposit: event("Deposit", "Successful Deposit", Record{
			"amount": json.Number("500.00"), "currency": "USD", "payment_method": "bank",
			"transaction_id": "txn_123456789", "failure_reason": nil,
		}),
		KindWithdraw: event("Withdraw", "Successful Withdrawal", Record{
			"amount": json.Number("50.0"), "payment_method": "bank", "transaction_id": "txn_654321",
		}),
		KindGamingActivity: event("Gaming Activity", "Slot Game Play", Record{
			"wager_amount": json.Number("10"), "win_amount": json.Number("0"), "game_id": "g-1",
			"game_title": "Mega Fortune Slots", "num_spins_played": json.Number("25"),
			"wagering_requirements_met": false, "free_spin_expiry_date": "2024-02-29T23:59:59Z",
			"currency": "EUR", "session_duration": json.Number("45"),
		}),
		KindWalletBalance: event("Wallet Balance", "Balance Update", Record{
			"wallet_type": "main", "currency": "USD", "current_cash_balance": json.Number("1000.00"),
			"current_bonus_balance": json.Number("50"), "current_total_balance": json.Number("1050"),
			"blocked_amount": json.Number("0.00"),
		}),
		KindReferFriend: event("Refer Friend", "Referral Confirmed", Record{
			"referral_code_used": "REF123", "successful_referral_confirmation": true,
			"reward_type": "bonus", "reward_claimed_status": "claimed", "referee_user_id": "user456",
			"referee_registration_date": "2024-01-15T10:30:00Z", "referee_first_deposit": json.Number("100.00"),
		}),
		KindExtAttributes: {
			"account_id": testAccount, "workspace_id": testWorkspace, "user_id": "t345345",
			"list_name": "BINGO_PREFERENCES", "ext_data": `{"Email":"True","SMS":"True"}`,
		},
		KindSystemEvent: {
			"account_id": testAccount, "workspace_id": testWorkspace, "event_category": "SystemEvent",
			"event_name": "Config Reloaded", "event_id": "sys-1", "event_time": "2024-01-15T10:30:00Z",
			"event_data": map[string]any{"source": "relay", "attempt": json.Number("2")},
		},
	}
}

func with(r Record, name string, v any) Record {
	c := maps.Clone(r)
	c[name] = v
	return c
}

func without(r Record, name string) Record {
	c := maps.Clone(r)
	delete(c, name)
	return c
}

// checkIssue fails unless err is a *ValidationError for field with issue
// (any issue when issue is "").
func checkIssue(t *testing.T, what string, err error, field, issue string) {
	t.Helper()
	var ve *ValidationError
	switch {
	case !errors.As(err, &ve):
		t.Errorf("%s: got error %v, want %s: %s", what, err, field, issue)
	case ve.Field != field || issue != "" && ve.Issue != issue:
		t.Errorf("%s: got %q, want %s: %s", what, err, field, issue)
	case !errors.Is(err, ErrInvalid):
		t.Errorf("%s: errors.Is(%v, ErrInvalid) = false", what, err)
	}
}

var modes = []ValidateOptions{{}, {Strict: true}}

func TestValidSamples(t *testing.T) {
	s := samples()
	for _, k := range Kinds() {
		for _, o := range modes {
			if err := k.Validate(s[k], o); err != nil {
				t.Errorf("%s strict=%v: got %v, want nil", k, o.Strict, err)
			}
		}
	}
}

// The guide's required fields, and the ones the SDKs add, written out here so
// that the tables are checked against something other than themselves.
var (
	guideRequired = map[Kind][]string{
		KindCustomer:       {"account_id", "workspace_id", "user_id", "creation_timestamp"},
		KindAccount:        eventRequired,
		KindDeposit:        append(eventRequired[:7:7], "amount"),
		KindWithdraw:       append(eventRequired[:7:7], "amount"),
		KindGamingActivity: eventRequired,
		KindWalletBalance:  eventRequired,
		KindReferFriend:    eventRequired,
		KindExtAttributes:  {"workspace_id", "user_id", "list_name", "ext_data"},
		KindSystemEvent:    {"account_id", "workspace_id", "event_category", "event_name", "event_id", "event_time"},
	}
	eventRequired = []string{"account_id", "workspace_id", "user_id", "event_category", "event_name", "event_id", "event_time"}
	sdkRequired   = map[Kind][]string{
		KindCustomer:       {"username", "email"},
		KindDeposit:        {"payment_method", "transaction_id"},
		KindWithdraw:       {"payment_method", "transaction_id"},
		KindGamingActivity: {"game_id", "game_title"},
	}
)

func TestRequiredFields(t *testing.T) {
	s := samples()
	for _, k := range Kinds() {
		var got []string
		for _, f := range k.Fields() {
			if f.Required {
				got = append(got, f.Name)
			}
		}
		if !slices.Equal(got, guideRequired[k]) {
			t.Errorf("%s: required fields %v, want %v", k, got, guideRequired[k])
		}
		for _, name := range guideRequired[k] {
			for _, o := range modes {
				what := k.String() + " without " + name
				checkIssue(t, what, k.Validate(without(s[k], name), o), name, issueMissing)
				checkIssue(t, k.String()+" with null "+name, k.Validate(with(s[k], name, nil), o), name, issueMissing)
				checkIssue(t, k.String()+` with "" `+name, k.Validate(with(s[k], name, ""), o), name, issueEmpty)
			}
		}
		for _, name := range sdkRequired[k] {
			r := without(s[k], name)
			if err := k.Validate(r, ValidateOptions{}); err != nil {
				t.Errorf("%s without %s, not strict: got %v, want nil", k, name, err)
			}
			checkIssue(t, k.String()+" strict without "+name, k.Validate(r, ValidateOptions{Strict: true}), name, issueMissing)
			checkIssue(t, k.String()+` strict with "" `+name, k.Validate(with(s[k], name, ""), ValidateOptions{Strict: true}), name, issueEmpty)
		}
	}
}

// wrongType is a value of the wrong type class for each field type, and the
// issue it must raise.
var wrongType = map[FieldType]struct {
	v     any
	issue string
}{
	TypeString:   {json.Number("1"), issueString},
	TypeNumber:   {"12.5", issueNumber},
	TypeInteger:  {json.Number("3.5"), issueInteger},
	TypeBoolean:  {"true", issueBoolean},
	TypeDateTime: {"2024-01-15 10:30:00", issueDateTime},
	TypeDate:     {"15/05/1990", issueDate},
	TypeEmail:    {"john.doe at example.com", issueEmail},
	TypeJSON:     {"{not json", issueJSON},
}

// TestWrongTypes sets every field of every model to a value of another type.
func TestWrongTypes(t *testing.T) {
	s := samples()
	for _, k := range Kinds() {
		for _, f := range k.Fields() {
			w := wrongType[f.Type]
			for _, o := range modes {
				checkIssue(t, k.String()+"."+f.Name, k.Validate(with(s[k], f.Name, w.v), o), f.Name, w.issue)
			}
		}
	}
}

// TestValues covers each rule's edges, on the first model that has it.
func TestValues(t *testing.T) {
	s := samples()
	cases := []struct {
		kind  Kind
		field string
		v     any
		issue string // "" when the value is valid
	}{
		// Strings.
		{KindDeposit, "payment_provider_name", "", ""},
		{KindDeposit, "payment_provider_name", true, issueString},
		{KindDeposit, "payment_provider_name", map[string]any{}, issueString},
		{KindDeposit, "user_id", 42, issueString},
		// event_category is fixed per model.
		{KindDeposit, "event_category", "Withdraw", `must be "Deposit"`},
		{KindDeposit, "event_category", "deposit", `must be "Deposit"`},
		{KindGamingActivity, "event_category", "Gaming Activity", ""},
		{KindSystemEvent, "event_category", "System Event", `must be "SystemEvent"`},
		// Numbers.
		{KindDeposit, "amount", json.Number("0.1"), ""},
		{KindGamingActivity, "loss_amount", json.Number("-20"), ""},
		{KindDeposit, "amount", json.Number("1e+21"), ""},
		{KindDeposit, "amount", json.Number("1E-7"), ""},
		{KindDeposit, "amount", 500.0, ""},
		{KindDeposit, "amount", float32(2.5), ""},
		{KindDeposit, "amount", 500, ""},
		{KindGamingActivity, "loss_amount", int64(-3), ""},
		{KindDeposit, "amount", uint8(7), ""},
		{KindDeposit, "amount", "500", issueNumber},
		{KindDeposit, "amount", true, issueNumber},
		{KindDeposit, "amount", json.Number(""), issueNumber},
		{KindDeposit, "amount", json.Number("NaN"), issueNumber},
		{KindDeposit, "amount", json.Number("Infinity"), issueNumber},
		{KindDeposit, "amount", json.Number("-Infinity"), issueNumber},
		{KindDeposit, "amount", json.Number("0x10"), issueNumber},
		{KindDeposit, "amount", json.Number("+1"), issueNumber},
		{KindDeposit, "amount", json.Number("01"), issueNumber},
		{KindDeposit, "amount", json.Number("1."), issueNumber},
		{KindDeposit, "amount", json.Number(".5"), issueNumber},
		{KindDeposit, "amount", json.Number("1e"), issueNumber},
		{KindDeposit, "amount", json.Number(" 1"), issueNumber},
		{KindDeposit, "amount", json.Number("1e400"), issueFinite},
		{KindDeposit, "amount", math.NaN(), issueFinite},
		{KindDeposit, "amount", math.Inf(1), issueFinite},
		{KindDeposit, "amount", float32(math.Inf(-1)), issueFinite},
		// Integers.
		{KindGamingActivity, "num_spins_played", json.Number("3"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("-3"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("3.0"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("1e3"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("30e-1"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("0.0e-5"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("1.5e1"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("12.50e1"), ""},
		{KindGamingActivity, "num_spins_played", json.Number("3.5"), issueInteger},
		{KindGamingActivity, "num_spins_played", json.Number("1e-1"), issueInteger},
		{KindGamingActivity, "num_spins_played", json.Number("1.25e1"), issueInteger},
		{KindGamingActivity, "num_spins_played", json.Number("100e-3"), issueInteger},
		{KindGamingActivity, "num_spins_played", json.Number("1e-400"), issueInteger},
		{KindGamingActivity, "num_spins_played", json.Number("1e-99999999999999999999"), issueInteger},
		{KindGamingActivity, "num_spins_played", json.Number("1.5e-9223372036854775808"), issueInteger},
		{KindGamingActivity, "num_spins_played", json.Number("0.5e-9223372036854775807"), issueInteger},
		{KindGamingActivity, "num_spins_played", 4.0, ""},
		{KindGamingActivity, "num_spins_played", 4.5, issueInteger},
		{KindGamingActivity, "num_spins_played", 7, ""},
		{KindGamingActivity, "num_spins_played", "7", issueNumber},
		{KindGamingActivity, "num_spins_played", json.Number("NaN"), issueNumber},
		// Booleans.
		{KindGamingActivity, "auto_play", true, ""},
		{KindGamingActivity, "auto_play", json.Number("1"), issueBoolean},
		{KindGamingActivity, "auto_play", "false", issueBoolean},
		// Date-times.
		{KindDeposit, "event_time", "2024-01-15T10:30:00Z", ""},
		{KindDeposit, "event_time", "2024-01-15T10:30:00.1Z", ""},
		{KindDeposit, "event_time", "2024-01-15T10:30:00.123Z", ""},
		{KindDeposit, "event_time", "2024-01-15T10:30:00.123456789Z", ""},
		{KindDeposit, "event_time", "2024-02-29T00:00:00Z", ""},
		{KindDeposit, "event_time", "2000-02-29T23:59:59Z", ""},
		{KindDeposit, "event_time", "2024-01-15T10:30:00+02:00", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:30:00+00:00", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:30Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:30:00", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15 10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15t10:30:00z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:30:00.Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:30:00.1234567890Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:30:00ZZ", issueDateTime},
		{KindDeposit, "event_time", "2023-02-29T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "1900-02-29T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-04-31T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-13-01T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-00-10T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-00T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T24:00:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:60:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T10:30:60Z", issueDateTime},
		{KindDeposit, "event_time", "2024-1-15T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "+2024-01-15T10:30:00Z", issueDateTime},
		{KindDeposit, "event_time", "2024-01-15T1a:30:00Z", issueDateTime},
		{KindDeposit, "event_time", json.Number("1705314600"), issueDateTime},
		{KindCustomer, "closed_time", "", issueDateTime},
		// Dates.
		{KindCustomer, "date_of_birth", "1990-05-15", ""},
		{KindCustomer, "date_of_birth", "2000-02-29", ""},
		{KindCustomer, "date_of_birth", "1990-02-29", issueDate},
		{KindCustomer, "date_of_birth", "1990-06-31", issueDate},
		{KindCustomer, "date_of_birth", "1990-5-15", issueDate},
		{KindCustomer, "date_of_birth", "1990-05-15T00:00:00Z", issueDate},
		{KindCustomer, "date_of_birth", "19900515", issueDate},
		{KindCustomer, "date_of_birth", "", issueDate},
		// Emails.
		{KindCustomer, "email", "a@b.co", ""},
		{KindCustomer, "email", "first.last+tag@mail.example.com", ""},
		{KindCustomer, "email", "a@.b.c", ""}, // the SDKs' pattern allows it
		{KindCustomer, "email", "é@ü.de", ""},
		{KindCustomer, "email", "a@b", issueEmail},
		{KindCustomer, "email", "a@b.", issueEmail},
		{KindCustomer, "email", "a@.b", issueEmail},
		{KindCustomer, "email", "@b.co", issueEmail},
		{KindCustomer, "email", "a@@b.co", issueEmail},
		{KindCustomer, "email", "a@b@c.co", issueEmail},
		{KindCustomer, "email", "a b@c.co", issueEmail},
		{KindCustomer, "email", "a@b.co ", issueEmail},
		{KindCustomer, "email", "a\u00a0b@c.co", issueEmail},
		{KindCustomer, "email", "a@b.c\u2028o", issueEmail},
		{KindCustomer, "email", "a@b.c\ufeff", issueEmail},
		{KindCustomer, "email", 5, issueEmail},
		// JSON fields.
		{KindExtAttributes, "ext_data", map[string]any{"Email": "True"}, ""},
		{KindExtAttributes, "ext_data", map[string]any{}, ""},
		{KindExtAttributes, "ext_data", `{"email":true,"sms":true}`, ""},
		{KindExtAttributes, "ext_data", `[1,2]`, ""},
		{KindExtAttributes, "ext_data", json.RawMessage(` {"a": [1, 2]} `), ""},
		{KindExtAttributes, "ext_data", json.RawMessage(`"{\"a\":1}"`), ""},
		{KindExtAttributes, "ext_data", json.RawMessage(`"not json"`), issueJSON},
		{KindExtAttributes, "ext_data", json.RawMessage(`[1,2]`), issueJSON},
		{KindExtAttributes, "ext_data", json.RawMessage(`{"a":`), issueJSON},
		{KindExtAttributes, "ext_data", json.RawMessage(``), issueJSON},
		{KindExtAttributes, "ext_data", `{"a":1`, issueJSON},
		{KindExtAttributes, "ext_data", `not json`, issueJSON},
		{KindExtAttributes, "ext_data", []any{"a"}, issueJSON},
		{KindExtAttributes, "ext_data", json.Number("1"), issueJSON},
		{KindExtAttributes, "ext_data", true, issueJSON},
		{KindCustomer, "custom_data", `{"email":true}`, ""},
		{KindCustomer, "custom_data", "", issueJSON},
		{KindSystemEvent, "event_data", `{"k":"v"}`, ""},
		{KindSystemEvent, "event_data", `{`, issueJSON},
		// Unknown fields are neither required nor checked.
		{KindDeposit, "metadata", map[string]any{"note": "First deposit"}, ""},
		{KindDeposit, "ip_address", 42, ""},
		{KindCustomer, "event_category", "Anything", ""},
	}
	for _, c := range cases {
		for _, o := range modes {
			what := c.kind.String() + "." + c.field
			// CheckValue, for a value known before any record, is the
			// same check.
			if x, ok := ValueOf(c.v); ok {
				if got := c.kind.CheckValue(c.field, x, o.Strict); got != c.issue {
					t.Errorf("CheckValue(%s = %s), strict=%v: got %q, want %q", what, jsonish(c.v), o.Strict, got, c.issue)
				}
			}
			err := c.kind.Validate(with(s[c.kind], c.field, c.v), o)
			if c.issue == "" {
				if err != nil {
					t.Errorf("%s = %#v, strict=%v: got %v, want nil", what, c.v, o.Strict, err)
				}
				continue
			}
			checkIssue(t, what+" = "+jsonish(c.v), err, c.field, c.issue)
		}
	}
}

func jsonish(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "(unmarshalable)"
	}
	return string(b)
}

// TestStrictRules: each of the SDKs' value rules passes without Strict and
// fails with it.
func TestStrictRules(t *testing.T) {
	s := samples()
	cases := []struct {
		kind  Kind
		field string
		v     any
		issue string // with Strict; "" when valid there too
	}{
		{KindCustomer, "gender", "Female", ""},
		{KindCustomer, "gender", "Other", ""},
		{KindCustomer, "gender", "male", "must be one of Male, Female, Other"},
		{KindCustomer, "gender", "", "must be one of Male, Female, Other"},
		{KindDeposit, "amount", json.Number("0.01"), ""},
		{KindDeposit, "amount", json.Number("0"), issuePositive},
		{KindDeposit, "amount", json.Number("-0.00"), issuePositive},
		{KindDeposit, "amount", -5, issuePositive},
		{KindWithdraw, "amount", json.Number("-1"), issuePositive},
		{KindWithdraw, "amount", 0.0, issuePositive},
		{KindGamingActivity, "wager_amount", json.Number("0"), ""},
		{KindGamingActivity, "wager_amount", json.Number("-0.5"), issueNegative},
		{KindGamingActivity, "win_amount", -1.0, issueNegative},
		{KindGamingActivity, "loss_amount", json.Number("-3"), ""}, // no rule on it
		{KindGamingActivity, "currency", "usd", "must match ^[A-Z]{3}$"},
		{KindGamingActivity, "currency", "USDT", "must match ^[A-Z]{3}$"},
		{KindWalletBalance, "currency", "EU", "must match ^[A-Z]{3}$"},
		{KindWalletBalance, "current_cash_balance", json.Number("-0.01"), issueNegative},
		{KindWalletBalance, "current_bonus_balance", json.Number("-1"), issueNegative},
		{KindWalletBalance, "current_total_balance", int64(-1), issueNegative},
		{KindWalletBalance, "blocked_amount", json.Number("-1e-2"), issueNegative},
		{KindReferFriend, "reward_type", "free_spins", ""},
		{KindReferFriend, "reward_type", "voucher", "must be one of bonus, cash, points, free_spins, other"},
		{KindReferFriend, "reward_claimed_status", "cancelled", ""},
		{KindReferFriend, "reward_claimed_status", "Claimed", "must be one of pending, claimed, expired, cancelled"},
		{KindReferFriend, "referee_first_deposit", json.Number("-100"), issueNegative},
		{KindExtAttributes, "list_name", "bingo-prefs_2", ""},
		{KindExtAttributes, "list_name", "BINGO PREFERENCES", "must match ^[A-Za-z0-9_-]+$"},
		{KindExtAttributes, "list_name", "prefs.v2", "must match ^[A-Za-z0-9_-]+$"},
		// event_name is never checked against a list, even strictly.
		{KindDeposit, "event_name", "Some New Deposit Event", ""},
		{KindWithdraw, "event_name", "Withdrawal Requested", ""},
	}
	for _, c := range cases {
		r := with(s[c.kind], c.field, c.v)
		what := c.kind.String() + "." + c.field + " = " + jsonish(c.v)
		if err := c.kind.Validate(r, ValidateOptions{}); err != nil {
			t.Errorf("%s, not strict: got %v, want nil", what, err)
		}
		err := c.kind.Validate(r, ValidateOptions{Strict: true})
		if c.issue == "" {
			if err != nil {
				t.Errorf("%s, strict: got %v, want nil", what, err)
			}
			continue
		}
		checkIssue(t, what+", strict", err, c.field, c.issue)
	}
}

// TestFirstProblem: the error names the earliest failing field in table
// order, whatever the map's iteration order.
func TestFirstProblem(t *testing.T) {
	s := samples()
	cases := []struct {
		kind   Kind
		set    Record
		delete []string
		want   string
	}{
		{KindDeposit, Record{"amount": "x", "event_time": "yesterday"}, nil, "event_time"},
		{KindDeposit, Record{"amount": "x"}, []string{"event_id"}, "event_id"},
		{KindDeposit, Record{"user_id": 1}, []string{"event_id"}, "user_id"},
		{KindDeposit, Record{"failure_reason": 3}, []string{"amount"}, "amount"},
		{KindCustomer, Record{"mac_dmg_push_token": 1, "date_of_birth": "x", "email": "x"}, nil, "date_of_birth"},
		{KindCustomer, Record{"closed_time": "x"}, []string{"creation_timestamp"}, "creation_timestamp"},
		{KindGamingActivity, Record{"transaction_type": 1, "auto_play": 1, "rtp": "x"}, nil, "rtp"},
	}
	for _, c := range cases {
		r := maps.Clone(s[c.kind])
		maps.Copy(r, c.set)
		for _, name := range c.delete {
			delete(r, name)
		}
		for range 20 { // map order varies between runs
			checkIssue(t, c.kind.String()+" "+jsonish(c.set), c.kind.Validate(r, ValidateOptions{}), c.want, "")
		}
	}
}

func TestValidateInvalidKind(t *testing.T) {
	err := Kind(0).Validate(Record{}, ValidateOptions{})
	if err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("Kind(0).Validate: got %v, want an error that is not ErrInvalid", err)
	}
}

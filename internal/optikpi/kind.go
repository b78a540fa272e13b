package optikpi

import (
	"fmt"

	"golang.org/x/time/rate"
)

// Kind is one of the nine Optikpi record models. Each kind has one endpoint.
type Kind uint8

// The record kinds, in the order of the integration guide.
const (
	KindCustomer Kind = iota + 1
	KindAccount
	KindDeposit
	KindWithdraw
	KindGamingActivity
	KindWalletBalance
	KindReferFriend
	KindExtAttributes
	KindSystemEvent
)

type kindInfo struct {
	name     string     // the name used in configuration
	endpoint string     // path under the base URL (…/apigw/ingest)
	category string     // fixed event_category, "" when the model has none
	state    bool       // records are state (latest wins), so per-user order matters
	limit    rate.Limit // the guide's requests per second for the endpoint
}

var kinds = [...]kindInfo{
	KindCustomer:       {"customer", "/customers", "", true, 50},
	KindAccount:        {"account", "/events/account", "Account", false, 250},
	KindDeposit:        {"deposit", "/events/deposit", "Deposit", false, 250},
	KindWithdraw:       {"withdraw", "/events/withdraw", "Withdraw", false, 250},
	KindGamingActivity: {"gaming_activity", "/events/gaming-activity", "Gaming Activity", false, 250},
	KindWalletBalance:  {"wallet_balance", "/events/wallet-balance", "Wallet Balance", false, 250},
	KindReferFriend:    {"refer_friend", "/events/refer-friend", "Refer Friend", false, 250},
	KindExtAttributes:  {"ext_attributes", "/extattributes", "", true, 50},
	KindSystemEvent:    {"system_event", "/events/system-events", "SystemEvent", false, 250},
}

// Kinds returns every kind, in the guide's order.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds)-1)
	for k := KindCustomer; k <= KindSystemEvent; k++ {
		out = append(out, k)
	}
	return out
}

// Valid reports whether k is one of the nine kinds.
func (k Kind) Valid() bool { return k >= KindCustomer && k <= KindSystemEvent }

// String returns the configuration name of k, such as "deposit".
func (k Kind) String() string {
	if !k.Valid() {
		return fmt.Sprintf("Kind(%d)", uint8(k))
	}
	return kinds[k].name
}

// Endpoint returns the path of k's endpoint relative to the base URL, such as
// "/events/deposit".
func (k Kind) Endpoint() string {
	if !k.Valid() {
		return ""
	}
	return kinds[k].endpoint
}

// EventCategory returns the fixed event_category of k, or "" for the models
// without one (customer profile, extended attributes).
func (k Kind) EventCategory() string {
	if !k.Valid() {
		return ""
	}
	return kinds[k].category
}

// IsState reports whether k's records are state rather than events: a newer
// record for a user replaces an older one, so their order must be kept.
func (k Kind) IsState() bool { return k.Valid() && kinds[k].state }

// RateLimit returns the guide's requests per second for k's endpoint: 50
// for customer profiles and extended attributes, 250 for each event
// endpoint; 0 for an invalid kind.
func (k Kind) RateLimit() rate.Limit {
	if !k.Valid() {
		return 0
	}
	return kinds[k].limit
}

// ParseKind returns the kind named name ("customer", "deposit",
// "gaming_activity", …).
func ParseKind(name string) (Kind, error) {
	for k := KindCustomer; k <= KindSystemEvent; k++ {
		if kinds[k].name == name {
			return k, nil
		}
	}
	return 0, fmt.Errorf("optikpi: unknown model %q", name)
}

// KindForEndpoint returns the kind whose endpoint is path.
func KindForEndpoint(path string) (Kind, bool) {
	for k := KindCustomer; k <= KindSystemEvent; k++ { // per request in the emulator: no Kinds() allocation
		if kinds[k].endpoint == path {
			return k, true
		}
	}
	return 0, false
}

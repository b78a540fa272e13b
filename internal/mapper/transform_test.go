package mapper

import (
	"testing"

	"github.com/optikpi/optikpi-relay/internal/config"
)

// TestCurrencyTable checks the table minor_units looks a currency_path's
// code up in against config.CurrencyExponent, for every code it holds.
func TestCurrencyTable(t *testing.T) {
	for _, overrides := range []map[string]int{nil, {"BTC": 8, "EUR": 3, "usd": 5, "USDT": 6}} {
		codes := isoCurrencies()
		if overrides != nil {
			codes = newCurrencyTable(overrides)
		}
		for i, got := range codes {
			code := string([]byte{byte('A' + i/(26*26)), byte('A' + i/26%26), byte('A' + i%26)})
			if j, ok := currencyIndex(code); !ok || j != i {
				t.Fatalf("currencyIndex(%q) = %d, %v; want %d, true", code, j, ok, i)
			}
			want := int8(-1)
			if e, ok := config.CurrencyExponent(code, overrides); ok {
				want = int8(e)
			}
			if got != want {
				t.Errorf("%q with exponents %v: got %d, want %d", code, overrides, got, want)
			}
		}
	}
	for _, code := range []string{"", "EU", "EURO", "eur", "Eur", "EU ", " EUR", "E@R", "EU[", "ÄUR"} {
		if i, ok := currencyIndex(code); ok {
			t.Errorf("currencyIndex(%q) = %d, true; want false", code, i)
		}
	}
}

// TestMinorUnitsCurrencyPath reads the currency at currency_path in each
// form a record may write it: the table's fast path and the lookup after it
// must agree.
func TestMinorUnitsCurrencyPath(t *testing.T) {
	rule := config.FieldRule{Path: "a", Transform: config.Names{config.TransformMinorUnits}, CurrencyPath: "c",
		Exponents: map[string]int{"BTC": 8, "JPY": 2}}
	for _, tc := range []struct{ value, want string }{
		{`{"a":1050,"c":"EUR"}`, "number 10.5"},
		{`{"a":1050,"c":"eur"}`, "number 10.5"},
		{`{"a":1050,"c":" EUR "}`, "number 10.5"},
		{`{"a":1050,"c":"\u0045UR"}`, "number 10.5"},
		{`{"a":1050,"c":"KWD"}`, "number 1.05"},
		{`{"a":1050,"c":"JPY"}`, "number 10.5"},
		{`{"a":150000000,"c":"BTC"}`, "number 1.5"},
		{`{"a":1050,"c":"XXQ"}`, `error: unknown currency "XXQ" at c`},
		{`{"a":1050,"c":"euro"}`, `error: unknown currency "euro" at c`},
		{`{"a":1050,"c":3}`, "error: want a currency code at c, got 3"},
		{`{"a":1050,"c":null}`, "error: want a currency code at c, got null"},
		{`{"a":1050}`, "error: want a currency code at c, got null"},
	} {
		checkResult(t, tc.value, evalRule(t, rule, tc.value), tc.want)
	}
}

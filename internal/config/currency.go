package config

import (
	"iter"
	"maps"
	"strings"
)

// iso4217 holds the ISO 4217 minor-unit exponents other than 2, the
// exponent of every other active currency.
var iso4217 = map[string]int{
	// No minor unit.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	// Thousandths.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Ten-thousandths.
	"CLF": 4, "UYW": 4,
}

// iso4217Two lists the active ISO 4217 codes whose exponent is 2, so that an
// unknown code (a typo, a crypto ticker) is not silently scaled by 100.
const iso4217Two = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"

func init() {
	for _, c := range strings.Fields(iso4217Two) {
		iso4217[c] = 2
	}
}

// CurrencyExponent returns the number of minor-unit digits of an ISO 4217
// currency code, overrides first (for codes outside ISO 4217 such as "BTC").
// An unknown code is not guessed: scaling by the wrong power of ten is worse
// than a dead letter.
func CurrencyExponent(code string, overrides map[string]int) (int, bool) {
	if e, ok := overrides[code]; ok {
		return e, true
	}
	e, ok := iso4217[code]
	return e, ok
}

// ISOCurrencyExponents yields every ISO 4217 code CurrencyExponent knows
// with its exponent, in no order: what a table of codes is built from
// rather than by asking for every string that could be a code.
func ISOCurrencyExponents() iter.Seq2[string, int] { return maps.All(iso4217) }

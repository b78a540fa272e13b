package mapper

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// TestCurrencyTable checks the table minor_units looks a currency_path's
// code up in against config.CurrencyExponent, for every code it holds.
func TestCurrencyTable(t *testing.T) {
	for _, overrides := range []map[string]int{
		nil,
		{"BTC": 8, "EUR": 3, "usd": 5, "USDT": 6, "JPY": 9, "GBP": -1},
		// The edges of the range, over ISO codes and others.
		{"ISK": maxExponent, "KWD": maxExponent + 1, "CLF": 0, "AAA": maxExponent, "ZZZ": -100, "XYZ": 1 << 40, "EUR": 2, "Jpy": 0, "": 3},
	} {
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
			if e, ok := config.CurrencyExponent(code, overrides); ok && e >= 0 && e <= maxExponent {
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

// TestFoldedCurrencyIndex checks the fast path's look-up of a code in
// either case against the slow path's, currencyIndex of its ToUpper: the
// same for a code of three ASCII bytes, and for any other code either the
// same or false (then the slow path reads it).
func TestFoldedCurrencyIndex(t *testing.T) {
	check := func(code string) {
		t.Helper()
		gi, gok := foldedCurrencyIndex(code)
		wi, wok := currencyIndex(strings.ToUpper(code))
		ascii := len(code) == 3 && code[0] < 0x80 && code[1] < 0x80 && code[2] < 0x80
		if gok && (!wok || gi != wi) || !gok && wok && ascii {
			t.Fatalf("foldedCurrencyIndex(%q) = %d, %v; want %d, %v", code, gi, gok, wi, wok)
		}
	}
	// Every byte around the letters in either case, and a few others.
	bytes := []byte{0, '\t', ' ', '0', 0x80, 0xc5, 0xe1, 0xff}
	for c := byte(0x3f); c < 0x80; c++ {
		bytes = append(bytes, c)
	}
	for _, a := range bytes {
		for _, b := range bytes {
			for _, c := range bytes {
				check(string([]byte{a, b, c}))
			}
		}
	}
	for _, code := range []string{"", "eu", "euro", "ſek", "ıdr", "ÄUR", "Eur"} {
		check(code)
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

// TestFromValue checks which values a field's path reads are marked as
// JSON or numbers the record's check already validated: parts of the
// value, not what a modifier made, even when it views the value (@fromstr
// of a string without escapes).
func TestFromValue(t *testing.T) {
	pl := newPlan()
	paths := map[string]*jpath{}
	for _, p := range []string{"a", "a.b", "a|@pretty", "a.@reverse", "s|@fromstr", "s", "n", "a.b.#", "z|@fromstr", "m|@fromstr"} {
		paths[p] = pl.path(p)
	}
	rec := &kgo.Record{Value: []byte(`{"a": {"b": [1, 2], "c": {"d": 1}}, "s": "{}", "n": 1, "z": "01", "m": "1abc"}`)}
	d := newDoc(rec, pl)
	for p, want := range map[string]bool{"a": true, "a.b": true, "a|@pretty": false, "a.@reverse": false, "s|@fromstr": false} {
		v, ok := d.fromValue(paths[p])
		if !ok || v.Type != optikpi.ValueJSON || v.Plain != want {
			t.Errorf("%s: got %+v, %v; want JSON with Plain %v", p, v, ok, want)
		}
	}
	for p, want := range map[string]bool{"n": true, "a.b.#": false, "z|@fromstr": false, "m|@fromstr": false} {
		v, ok := d.fromValue(paths[p])
		if !ok || v.Type != optikpi.ValueNumber || v.Plain != want {
			t.Errorf("%s: got %+v, %v; want a number with Plain %v", p, v, ok, want)
		}
	}
	for _, p := range []string{"s"} {
		want, wantOK := d.value(paths[p])
		if v, ok := d.fromValue(paths[p]); v != want || ok != wantOK {
			t.Errorf("%s: got %+v, %v; want %+v, %v unchanged", p, v, ok, want, wantOK)
		}
	}
}

// TestCondStrings checks equals and in with string constants only, which
// eval compares with the value as a field reads it, against the same
// condition with a number among the constants, which takes equal's way.
func TestCondStrings(t *testing.T) {
	for _, value := range []string{
		`{"t":"a"}`, `{"t":"b"}`, `{"t":"\u0061"}`, `{"t":"a\"b"}`, `{"t":"c"}`, `{"t":""}`,
		`{"t":1}`, `{"t":true}`, `{"t":null}`, `{"t":["a"]}`, `{"t":{"a":1}}`, `{}`, `{"u":{"t":"a"}}`,
	} {
		for _, path := range []string{"t", "u.t", "t|@this"} {
			var got [2]bool
			for i, in := range [][]any{{"a", `a"b`, ""}, {"a", `a"b`, "", 12345}} {
				pl := newPlan()
				c, err := compileTestCond(&config.Condition{Path: path, In: in}, pl)
				if err != nil {
					t.Fatal(err)
				}
				if (c.strs != nil) != (i == 0) {
					t.Fatalf("in %v: strs %v", in, c.strs)
				}
				if got[i], err = c.eval(newDoc(&kgo.Record{Value: []byte(value)}, pl)); err != nil {
					t.Fatal(err)
				}
			}
			if got[0] != got[1] {
				t.Errorf("%s at %s: strings only %v, with a number %v", value, path, got[0], got[1])
			}
		}
	}
}

// TestMinorUnitsJSONNumber checks that what minor_units writes, marked
// Plain, is in JSON's grammar.
func TestMinorUnitsJSONNumber(t *testing.T) {
	d := newDoc(&kgo.Record{Value: []byte(`{}`)}, newPlan())
	for _, in := range []string{"0", "-0", "5", "-5", "000", "1050", "-1050", "100", "1000000", "7 ", " -00012"} {
		for exp := 0; exp <= 4; exp++ {
			for _, v := range []optikpi.Value{optikpi.String(in), {Type: optikpi.ValueNumber, Text: strings.TrimSpace(in)}} {
				got, err := minorUnits(v, exp, d)
				if err != nil {
					continue // a number minor_units refuses
				}
				if !got.Plain || got.Type != optikpi.ValueNumber || !optikpi.IsJSONNumber(got.Text) {
					t.Errorf("minorUnits(%+v, %d) = %+v, want a Plain JSON number", v, exp, got)
				}
			}
		}
	}
}

// TestMinorUnitsDigits checks minorUnits, which pads a fraction in the
// arena, against the division on padded strings it replaced, for every
// exponent.
func TestMinorUnitsDigits(t *testing.T) {
	want := func(s string, exp int) string {
		sign := ""
		if strings.HasPrefix(s, "-") {
			sign, s = "-", s[1:]
		}
		digits := strings.TrimLeft(s, "0")
		if digits == "" {
			return "0"
		}
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp+1-len(digits)) + digits
		}
		whole, frac := digits[:len(digits)-exp], strings.TrimRight(digits[len(digits)-exp:], "0")
		if frac != "" {
			frac = "." + frac
		}
		return sign + whole + frac
	}
	var d doc
	for exp := 0; exp <= maxExponent; exp++ {
		for _, s := range []string{"0", "-0", "5", "-5", "10", "100", "1050", "-1050", "0050", "-000120",
			"123456789", "1000000", "900000000000000000001", "-100000000000000000000", "7070"} {
			got, err := minorUnits(jsonNumber(s), exp, &d)
			if err != nil || got.Type != optikpi.ValueNumber || got.Text != want(s, exp) {
				t.Errorf("minorUnits(%s, %d) = %+v, %v; want number %s", s, exp, got, err, want(s, exp))
			}
		}
	}
}

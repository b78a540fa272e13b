package mapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/timelayout"
)

// transformFn transforms v; d gives access to the rest of the record
// (minor_units' currency_path).
type transformFn = func(v optikpi.Value, d *doc) (optikpi.Value, error)

// pure adapts a transform that needs nothing but the value.
func pure(fn func(optikpi.Value) (optikpi.Value, error)) transformFn {
	return func(v optikpi.Value, _ *doc) (optikpi.Value, error) { return fn(v) }
}

// number is the Value of the JSON number text s.
func number(s string) optikpi.Value { return optikpi.Value{Type: optikpi.ValueNumber, Text: s} }

// jsonNumber is number for s that the mapper wrote in JSON's grammar: Plain
// (optikpi.Value.Plain), not read again by validation.
func jsonNumber(s string) optikpi.Value {
	return optikpi.Value{Type: optikpi.ValueNumber, Text: s, Plain: true}
}

// describeValue is describe for a Value.
func describeValue(v optikpi.Value) string { return describe(v.Any()) }

// compileTransform compiles transform name of rule r, written at its key
// at; nil after reporting a problem. A transform with parameters is
// compiled once however often the rule applies it, so that its parameters'
// problems are reported once.
func compileTransform(name string, r *rule, at string, pl *plan) transformFn {
	fn, err := transform(name, r, pl)
	if err != nil {
		r.add(at, "%v", err)
	}
	return fn
}

func transform(name string, r *rule, pl *plan) (transformFn, error) {
	switch name {
	case config.TransformUnixSeconds:
		return epochIn(time.Second), nil
	case config.TransformUnixMillis:
		return epochIn(time.Millisecond), nil
	case config.TransformUnixMicros:
		return epochIn(time.Microsecond), nil
	case config.TransformUnixNanos:
		return epochIn(time.Nanosecond), nil
	case config.TransformUnixAuto:
		return unixAuto, nil
	case config.TransformRFC3339:
		return rfc3339, nil
	case config.TransformTimestamp:
		return timestamp, nil
	case config.TransformTimeLayout, config.TransformMinorUnits:
		if fn, ok := r.compiled[name]; ok {
			return fn, nil
		}
		compile := compileTimeLayout
		if name == config.TransformMinorUnits {
			compile = compileMinorUnits
		}
		fn := compile(r, pl)
		if r.compiled == nil {
			r.compiled = map[string]transformFn{}
		}
		r.compiled[name] = fn
		return fn, nil
	case config.TransformDate:
		return date, nil
	case config.TransformString:
		return pure(toString), nil
	case config.TransformNumber:
		return pure(func(v optikpi.Value) (optikpi.Value, error) { return toNumber(v, false) }), nil
	case config.TransformInteger:
		return pure(func(v optikpi.Value) (optikpi.Value, error) { return toNumber(v, true) }), nil
	case config.TransformBoolean:
		return pure(toBool), nil
	case config.TransformJSONString:
		return pure(jsonString), nil
	case config.TransformJSONObject:
		return pure(jsonObject), nil
	case config.TransformLower:
		return caseFn(false), nil
	case config.TransformUpper:
		return caseFn(true), nil
	case config.TransformTrim:
		return stringFn(strings.TrimSpace), nil
	}
	return nil, fmt.Errorf("unknown transform %q (want one of %s)", name, strings.Join(config.Transforms(), ", "))
}

// epochIn is the transform of epoch numbers counted in unit.
func epochIn(unit time.Duration) transformFn {
	return func(v optikpi.Value, d *doc) (optikpi.Value, error) { return epoch(v, unit, d) }
}

// minorUnitsBy is minor_units with the fixed exponent exp.
func minorUnitsBy(exp int) transformFn {
	return func(v optikpi.Value, d *doc) (optikpi.Value, error) { return minorUnits(v, exp, d) }
}

func stringFn(fn func(string) string) transformFn {
	return pure(func(v optikpi.Value) (optikpi.Value, error) {
		if v.Type != optikpi.ValueString {
			return optikpi.Value{}, fmt.Errorf("want a string, got %s", describeValue(v))
		}
		return optikpi.String(fn(v.Text)), nil
	})
}

// caseFn is lower, or upper: ASCII text changes in the arena, other text
// as strings.ToLower and ToUpper change it.
func caseFn(upper bool) transformFn {
	fn := strings.ToLower
	if upper {
		fn = strings.ToUpper
	}
	return func(v optikpi.Value, d *doc) (optikpi.Value, error) {
		if v.Type != optikpi.ValueString {
			return optikpi.Value{}, fmt.Errorf("want a string, got %s", describeValue(v))
		}
		start := len(d.arena)
		for i := 0; i < len(v.Text); i++ {
			c := v.Text[i]
			switch {
			case c >= utf8.RuneSelf:
				d.arena = d.arena[:start]
				return optikpi.String(fn(v.Text)), nil
			case upper && 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
			case !upper && 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			d.arena = append(d.arena, c)
		}
		// Only ASCII letters changed: plain if v was.
		return optikpi.Value{Type: optikpi.ValueString, Text: d.text(start), Plain: v.Plain}, nil
	}
}

// timeValue formats t, or says it is out of RFC 3339's years.
func timeValue(t time.Time, from optikpi.Value, d *doc) (optikpi.Value, error) {
	out, ok := d.formatTime(t)
	if !ok {
		return optikpi.Value{}, fmt.Errorf("%s is outside the years 0001 to 9999", describeValue(from))
	}
	return out, nil
}

// numberText returns the text of a number, or of a string holding one.
func numberText(v optikpi.Value) (string, bool) {
	switch v.Type {
	case optikpi.ValueNumber:
		return v.Text, v.Plain || optikpi.IsJSONNumber(v.Text)
	case optikpi.ValueString:
		s := strings.TrimSpace(v.Text)
		return s, optikpi.IsJSONNumber(s)
	}
	return "", false
}

// epoch converts a count of unit (a second, millisecond, microsecond or
// nanosecond) since the Unix epoch. Decimal text converts exactly, so
// milliseconds never suffer float rounding. A number out of range in unit
// but not in the unit its magnitude suggests gets an error naming that
// unit's transform.
func epoch(v optikpi.Value, unit time.Duration, d *doc) (optikpi.Value, error) {
	s, ok := numberText(v)
	if !ok {
		return optikpi.Value{}, fmt.Errorf("want a number, got %s", describeValue(v))
	}
	if out, ok := epochTime(s, unit, d); ok {
		return out, nil
	}
	_, words := epochUnit(unit)
	msg := fmt.Sprintf("%s is outside the years 0001 to 9999 as %s", describeValue(v), words)
	if _, _, ok := splitEpoch(s, unit); !ok {
		msg = fmt.Sprintf("%s is out of range as %s", describeValue(v), words)
	}
	if guess := autoUnit(s); guess != unit {
		if alt, ok := epochTime(s, guess, d); ok {
			name, words := epochUnit(guess)
			msg += fmt.Sprintf("; as %s it is %s: use %s, or unix_auto", words, alt.Text, name)
		}
	}
	return optikpi.Value{}, errors.New(msg)
}

// epochTime formats the epoch number s counted in unit.
func epochTime(s string, unit time.Duration, d *doc) (optikpi.Value, bool) {
	sec, nsec, ok := splitEpoch(s, unit)
	if !ok {
		return optikpi.Value{}, false
	}
	return d.formatTime(time.Unix(sec, nsec))
}

// unix_auto, and timestamp for numbers, read an epoch number by its
// magnitude: below 1e11 as seconds (1e11 s is in the year 5138, 1e11 ms in
// 1973), below 1e14 as milliseconds, below 1e17 as microseconds, and from
// there as nanoseconds. docs/mapping.md states the same thresholds.
const (
	autoMillisFrom = 1e11
	autoMicrosFrom = 1e14
	autoNanosFrom  = 1e17
)

// autoUnit is the unit unix_auto reads the epoch number s in.
func autoUnit(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64) // ±Inf when too large: nanoseconds
	switch f = math.Abs(f); {
	case f < autoMillisFrom:
		return time.Second
	case f < autoMicrosFrom:
		return time.Millisecond
	case f < autoNanosFrom:
		return time.Microsecond
	}
	return time.Nanosecond
}

// epochUnit names the transform of unit and the unit in words.
func epochUnit(unit time.Duration) (transform, words string) {
	switch unit {
	case time.Millisecond:
		return config.TransformUnixMillis, "epoch milliseconds"
	case time.Microsecond:
		return config.TransformUnixMicros, "epoch microseconds"
	case time.Nanosecond:
		return config.TransformUnixNanos, "epoch nanoseconds"
	}
	return config.TransformUnixSeconds, "epoch seconds"
}

// unixAuto is epoch in the unit autoUnit reads v in.
func unixAuto(v optikpi.Value, d *doc) (optikpi.Value, error) {
	s, ok := numberText(v)
	if !ok {
		return optikpi.Value{}, fmt.Errorf("want an epoch number, got %s", describeValue(v))
	}
	return epoch(number(s), autoUnit(s), d)
}

// splitEpoch splits the JSON number s, counted in unit, into seconds and
// nanoseconds since the epoch; ok is false when it is out of range.
func splitEpoch(s string, unit time.Duration) (sec, nsec int64, ok bool) {
	if strings.IndexByte(s, 'e') >= 0 || strings.IndexByte(s, 'E') >= 0 {
		f, err := strconv.ParseFloat(s, 64)
		f *= unit.Seconds()
		if err != nil || math.Abs(f) > timelayout.MaxEpochSeconds {
			return 0, 0, false
		}
		whole := math.Trunc(f)
		return int64(whole), int64((f - whole) * 1e9), true
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	// The digits by hand: strconv.ParseInt cost more than the rest.
	if ip == "" {
		return 0, 0, false
	}
	var n int64
	for i := 0; i < len(ip); i++ {
		c := ip[i]
		if c < '0' || c > '9' || n > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, 0, false
		}
		n = n*10 + int64(c-'0')
	}
	perSec := int64(time.Second / unit)
	sec = n / perSec
	// The fraction of a unit, to nine digits, in nanoseconds.
	var frac int64
	for i := range 9 {
		frac *= 10
		if i < len(fp) {
			frac += int64(fp[i] - '0') // a JSON number's fraction: digits
		}
	}
	nsec = (n%perSec)*int64(unit) + frac*int64(unit)/int64(time.Second)
	if neg {
		sec, nsec = -sec, -nsec
	}
	return sec, nsec, true
}

func rfc3339(v optikpi.Value, d *doc) (optikpi.Value, error) {
	if v.Type != optikpi.ValueString {
		return optikpi.Value{}, fmt.Errorf("want an RFC 3339 time string, got %s", describeValue(v))
	}
	s := strings.TrimSpace(v.Text)
	if out, ok := d.timeText(optikpi.AppendRFC3339(d.arena, s)); ok {
		return out, nil
	}
	t, err := optikpi.ParseRFC3339(s)
	if err != nil {
		return optikpi.Value{}, fmt.Errorf("%s is not an RFC 3339 time with an offset", describeValue(v))
	}
	return timeValue(t, v, d)
}

// timestamp accepts what unix_auto and rfc3339 accept.
func timestamp(v optikpi.Value, d *doc) (optikpi.Value, error) {
	if _, ok := numberText(v); ok {
		return unixAuto(v, d)
	}
	if v.Type == optikpi.ValueString {
		return rfc3339(v, d)
	}
	return optikpi.Value{}, fmt.Errorf("want epoch seconds, epoch milliseconds or an RFC 3339 time, got %s", describeValue(v))
}

// compileTimeLayout compiles the time_layout of r; nil after reporting a
// problem of its layout or timezone.
func compileTimeLayout(r *rule, pl *plan) transformFn {
	var loc *time.Location // nil: none for records without a zone at timezone_path
	if r.Timezone != "" || r.TimezonePath == "" {
		loc = time.UTC
	}
	ok := true
	if r.Timezone != "" {
		var err error
		if loc, err = timelayout.LoadZone(r.Timezone); err != nil {
			r.add(".timezone", "%v", err)
			ok, loc = false, time.UTC // the layout is still checked
		}
	}
	layout := r.Layout
	if layout == "" {
		r.add(".layout", "required by time_layout: a Go reference layout such as \"2006-01-02 15:04:05\"")
		return nil
	}
	if err := timelayout.Check(layout, loc); err != nil {
		r.add(".layout", "%v", err)
		return nil
	}
	if !ok {
		return nil
	}
	var zones *zoneCache
	var zonePath *jpath
	if r.TimezonePath != "" {
		zones, zonePath = new(zoneCache), pl.path(r.TimezonePath)
	}
	return func(v optikpi.Value, d *doc) (optikpi.Value, error) {
		if v.Type != optikpi.ValueString {
			return optikpi.Value{}, fmt.Errorf("want a string, got %s", describeValue(v))
		}
		loc := loc
		if zones != nil {
			var err error
			if loc, err = zones.at(d, zonePath, loc); err != nil {
				return optikpi.Value{}, err
			}
		}
		t, err := time.ParseInLocation(layout, strings.TrimSpace(v.Text), loc)
		if err != nil {
			return optikpi.Value{}, fmt.Errorf("%s does not match layout %q", describeValue(v), layout)
		}
		return timeValue(t, v, d)
	}
}

// zoneCache holds the time zones a timezone_path has named, so that a
// record does not load its zone again. Only zones that load are kept: a
// few hundred names and at most a few thousand offsets.
type zoneCache struct{ zones sync.Map } // zone name -> *time.Location

// at returns the zone named at p in d, or def when there is none there;
// an unknown zone, or none and no def, is an error.
func (c *zoneCache) at(d *doc, p *jpath, def *time.Location) (*time.Location, error) {
	res, ok := d.present(p)
	name := strings.TrimSpace(res.Str)
	switch {
	case ok && res.Type != gjson.String:
		return nil, fmt.Errorf("want a time zone name at %s, got %s", p.full, describeValue(recordValue(&res)))
	case !ok || name == "":
		if def == nil {
			return nil, fmt.Errorf("no time zone at %s (set timezone for records without one)", p.full)
		}
		return def, nil
	}
	if loc, ok := c.zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := timelayout.LoadZone(name)
	if err != nil {
		return nil, fmt.Errorf("at %s: %w", p.full, err)
	}
	// A copy: name views the record's value.
	c.zones.Store(strings.Clone(name), loc)
	return loc, nil
}

// date returns the calendar date of a date or of an RFC 3339 time, as
// written (a birth date does not move with time zones).
func date(v optikpi.Value, d *doc) (optikpi.Value, error) {
	if v.Type != optikpi.ValueString {
		return optikpi.Value{}, fmt.Errorf("want a date string, got %s", describeValue(v))
	}
	// Both forms start with the date as written, which is what is kept.
	s := strings.TrimSpace(v.Text)
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return optikpi.String(s), nil
	}
	if _, err := optikpi.ParseRFC3339(s); err == nil && s[:4] != "0000" {
		return optikpi.String(s[:10]), nil
	}
	return optikpi.Value{}, fmt.Errorf("%s is not a date (YYYY-MM-DD) or an RFC 3339 time", describeValue(v))
}

// compileMinorUnits compiles the minor_units of r, by its exponent,
// currency or currency_path; nil after reporting a problem of them.
func compileMinorUnits(r *rule, pl *plan) transformFn {
	var fn transformFn
	n := 0
	if r.Exponent != nil {
		n++
		if e := *r.Exponent; r.checkExponent(".exponent", e) {
			fn = minorUnitsBy(e)
		}
	}
	overrides := r.Exponents
	if r.Currency != "" {
		n++
		if e, ok := config.CurrencyExponent(r.Currency, overrides); ok {
			fn = minorUnitsBy(e)
		} else {
			r.add(".currency", "no known exponent for %q; give exponent, or add it to exponents", r.Currency)
		}
	}
	if r.CurrencyPath != "" {
		n++
		path, jp := r.CurrencyPath, pl.path(r.CurrencyPath)
		codes := isoCurrencies()
		if len(overrides) > 0 {
			codes = newCurrencyTable(overrides)
		}
		fn = func(v optikpi.Value, d *doc) (optikpi.Value, error) {
			// Nearly every record names its currency as it is looked up,
			// or in lower case: read it as a field's value, and find it
			// without a map (or ToUpper's copy).
			if c, ok := d.value(jp); ok && c.Type == optikpi.ValueString {
				if i, ok := foldedCurrencyIndex(c.Text); ok && codes[i] >= 0 {
					return minorUnits(v, int(codes[i]), d)
				}
			}
			res := d.get(jp)
			if res.Type != gjson.String {
				return optikpi.Value{}, fmt.Errorf("want a currency code at %s, got %s", path, describe(recordValueOrNil(res)))
			}
			code := strings.ToUpper(strings.TrimSpace(res.Str))
			e, ok := config.CurrencyExponent(code, overrides)
			if !ok {
				return optikpi.Value{}, fmt.Errorf("unknown currency %q at %s (add it to exponents)", res.Str, path)
			}
			return minorUnits(v, e, d)
		}
	}
	if n != 1 {
		r.add("", "minor_units needs exactly one of exponent, currency and currency_path")
		return nil
	}
	return fn
}

// currencyTable holds config.CurrencyExponent of every code of three
// letters A to Z, by currencyIndex; -1 where it has none.
type currencyTable [26 * 26 * 26]int8

// isoCurrencies is the currencyTable without overrides, made once: the
// same for every rule without exponents.
var isoCurrencies = sync.OnceValue(func() *currencyTable { return newCurrencyTable(nil) })

// newCurrencyTable fills the table from the codes there are, overrides
// last as CurrencyExponent reads them first: asking CurrencyExponent for
// each of the 17,576 entries took ~4 M instructions, a tenth of relay
// validate.
func newCurrencyTable(overrides map[string]int) *currencyTable {
	t := new(currencyTable)
	for i := range t {
		t[i] = -1
	}
	set := func(code string, e int) {
		if i, ok := currencyIndex(code); ok {
			t[i] = -1
			if e >= 0 && e <= maxExponent {
				t[i] = int8(e)
			}
		}
	}
	for code, e := range config.ISOCurrencyExponents() {
		set(code, e)
	}
	for code, e := range overrides {
		set(code, e)
	}
	return t
}

// currencyIndex is the index in a currencyTable of code, false when code
// is not three letters A to Z.
func currencyIndex(code string) (int, bool) { return letterIndex(code, 0) }

// foldedCurrencyIndex is currencyIndex(strings.ToUpper(code)) for a code
// of three ASCII letters in either case, and false for any other code.
func foldedCurrencyIndex(code string) (int, bool) { return letterIndex(code, 'a'-'A') }

// letterIndex is currencyIndex with the bits of fold cleared from each
// byte: 'a'-'A' makes a lower-case ASCII letter its upper case, and no
// other byte a letter.
func letterIndex(code string, fold byte) (int, bool) {
	if len(code) != 3 {
		return 0, false
	}
	i := 0
	for j := range 3 {
		c := code[j]&^fold - 'A' // wraps below 'A'
		if c >= 26 {
			return 0, false
		}
		i = i*26 + int(c)
	}
	return i, true
}

func recordValueOrNil(res gjson.Result) any {
	if !res.Exists() || res.Type == gjson.Null {
		return nil
	}
	return recordValue(&res).Any()
}

// minorUnits divides a whole number of minor units by 10^exp exactly, on
// the digits: 1050 with exponent 2 is 10.5, -5 is -0.05.
func minorUnits(v optikpi.Value, exp int, d *doc) (optikpi.Value, error) {
	s, ok := numberText(v)
	if !ok || !integral(s) {
		return optikpi.Value{}, fmt.Errorf("want a whole number of minor units, got %s", describeValue(v))
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	digits := strings.TrimLeft(s, "0")
	if digits == "" {
		return jsonNumber("0"), nil
	}
	// Fewer digits than exp: a fraction of pad zeros and then the digits,
	// written in the arena rather than padded in a string of their own.
	whole, pad := "0", 0
	frac := digits
	if len(digits) > exp {
		whole, frac = digits[:len(digits)-exp], digits[len(digits)-exp:]
	} else {
		pad = exp - len(digits)
	}
	if frac = strings.TrimRight(frac, "0"); sign == "" && frac == "" {
		return jsonNumber(whole), nil
	}
	start := len(d.arena)
	d.arena = append(append(d.arena, sign...), whole...)
	if frac != "" {
		d.arena = append(d.arena, '.')
		for range pad {
			d.arena = append(d.arena, '0')
		}
		d.arena = append(d.arena, frac...)
	}
	return jsonNumber(d.text(start)), nil
}

// integral reports whether the JSON number s is written without a
// fraction or an exponent: strings.ContainsAny(s, ".eE") without building
// its set of bytes on every call.
func integral(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

func toString(v optikpi.Value) (optikpi.Value, error) {
	if s, ok := valueKey(v); ok {
		return optikpi.String(s), nil
	}
	return optikpi.Value{}, fmt.Errorf("want a string, number or boolean (json_string encodes objects), got %s", describeValue(v))
}

func toNumber(v optikpi.Value, integer bool) (optikpi.Value, error) {
	s, ok := numberText(v)
	if !ok {
		return optikpi.Value{}, fmt.Errorf("want a number or a string holding one, got %s", describeValue(v))
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return optikpi.Value{}, fmt.Errorf("%s is out of range", describeValue(v))
	}
	if !integer || integral(s) {
		return number(s), nil
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return optikpi.Value{}, fmt.Errorf("%s is not a whole number", describeValue(v))
	}
	return number(strconv.FormatFloat(f, 'f', 0, 64)), nil
}

func toBool(v optikpi.Value) (optikpi.Value, error) {
	switch v.Type {
	case optikpi.ValueTrue, optikpi.ValueFalse:
		return v, nil
	case optikpi.ValueNumber:
		switch v.Text {
		case "1":
			return optikpi.Bool(true), nil
		case "0":
			return optikpi.Bool(false), nil
		}
	case optikpi.ValueString:
		switch strings.ToLower(strings.TrimSpace(v.Text)) {
		case "true", "yes", "y", "1", "on":
			return optikpi.Bool(true), nil
		case "false", "no", "n", "0", "off":
			return optikpi.Bool(false), nil
		}
	}
	return optikpi.Value{}, fmt.Errorf("want true/false, yes/no, on/off or 1/0, got %s", describeValue(v))
}

// jsonString encodes an object or array as a compact JSON string; a string
// already holding JSON is kept.
func jsonString(v optikpi.Value) (optikpi.Value, error) {
	switch v.Type {
	case optikpi.ValueJSON:
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(v.Text)); err != nil {
			return optikpi.Value{}, fmt.Errorf("invalid JSON: %w", err)
		}
		return optikpi.String(b.String()), nil
	case optikpi.ValueString:
		if gjson.Valid(v.Text) {
			return v, nil
		}
	}
	return optikpi.Value{}, fmt.Errorf("want an object, an array or a string holding JSON, got %s", describeValue(v))
}

// jsonObject parses a string holding a JSON object.
func jsonObject(v optikpi.Value) (optikpi.Value, error) {
	switch v.Type {
	case optikpi.ValueJSON:
		if t := strings.TrimSpace(v.Text); len(t) > 0 && t[0] == '{' {
			return v, nil
		}
	case optikpi.ValueString:
		if t := strings.TrimSpace(v.Text); strings.HasPrefix(t, "{") && gjson.Valid(t) {
			return optikpi.Value{Type: optikpi.ValueJSON, Text: t}, nil
		}
	}
	return optikpi.Value{}, fmt.Errorf("want an object or a string holding one, got %s", describeValue(v))
}

package expression

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/timelayout"
)

// The relay's own functions; docs/mapping.md shows each with an example.
const (
	fnSign         = "sign"           // sign(x): -1, 0 or 1
	fnRound        = "round"          // round(x), round(x, places): half away from zero, on x's decimal digits
	fnUnixSeconds  = "unix_seconds"   // unix_seconds(n): the time n epoch seconds
	fnUnixMillis   = "unix_millis"    // unix_millis(n): the time n epoch milliseconds
	fnParseTime    = "parse_time"     // parse_time(layout, s[, tz]): s by a Go layout, in tz (default UTC) when s has no offset
	fnFormatRFC339 = "format_rfc3339" // format_rfc3339(t): t as the API writes times
)

// functionNames lists the functions an expression may call: the relay's
// own and the builtins enabled.
func functionNames() []string {
	return append([]string{fnSign, fnRound, fnUnixSeconds, fnUnixMillis, fnParseTime, fnFormatRFC339}, builtins[:]...)
}

// functions returns the options declaring the relay's functions, with the
// signatures the checker tests calls against. zones holds the time zones
// parse_time is given as constants, loaded at compile time; Compile fills
// it before the program is used, and it is only read after.
func functions(zones map[string]*time.Location) []expr.Option {
	return []expr.Option{
		expr.Function(fnSign, sign,
			new(func(int) int), new(func(float64) int)),
		expr.Function(fnRound, round,
			new(func(int) int), new(func(float64) float64),
			new(func(int, int) int), new(func(float64, int) float64)),
		expr.Function(fnUnixSeconds, func(p ...any) (any, error) { return epoch(fnUnixSeconds, p[0], 1) },
			new(func(int) time.Time), new(func(float64) time.Time)),
		expr.Function(fnUnixMillis, func(p ...any) (any, error) { return epoch(fnUnixMillis, p[0], 1000) },
			new(func(int) time.Time), new(func(float64) time.Time)),
		expr.Function(fnParseTime, func(p ...any) (any, error) { return parseTime(zones, p...) },
			new(func(string, string) time.Time), new(func(string, string, string) time.Time)),
		expr.Function(fnFormatRFC339, formatRFC3339,
			new(func(time.Time) string)),
	}
}

// number returns x as a float64, and whether it is a number at all.
func number(x any) (float64, bool) {
	switch n := x.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// describe shows an argument in an error message.
func describe(x any) string {
	switch v := x.(type) {
	case nil:
		return "nil (a missing value?)"
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return strconv.Quote(v)
	}
	return fmt.Sprintf("%T %v", x, x)
}

func sign(p ...any) (any, error) {
	// As a float64 a number keeps its sign, so number serves every type.
	n, ok := number(p[0])
	if !ok {
		return nil, fmt.Errorf("%s: want a number, got %s", fnSign, describe(p[0]))
	}
	switch {
	case n > 0:
		return 1, nil
	case n < 0:
		return -1, nil
	}
	return 0, nil
}

func round(p ...any) (any, error) {
	places := 0
	if len(p) == 2 {
		n, ok := p[1].(int)
		if !ok || n < 0 || n > SignificantDigits {
			return nil, fmt.Errorf("%s: want 0 to %d places, got %s", fnRound, SignificantDigits, describe(p[1]))
		}
		places = n
	}
	switch x := p[0].(type) {
	case int, int64:
		return x, nil // whole already
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s: %v is not a number", fnRound, x)
		}
		return roundDecimal(x, places), nil
	}
	return nil, fmt.Errorf("%s: want a number, got %s", fnRound, describe(p[0]))
}

// roundDecimal rounds f to places decimals, half away from zero, on the
// decimal digits f is rendered with (AppendFloat), not on its binary
// value: 2.675 (in binary 2.67499999…) rounds to 2.68, as a person would.
func roundDecimal(f float64, places int) float64 {
	text := string(must(AppendFloat(nil, math.Abs(f))))
	whole, frac, _ := strings.Cut(text, ".")
	if len(frac) <= places {
		// Already that short as a decimal, but maybe not in binary:
		// 0.29 * 100 is 28.999999999999996, which must round to 29.
		r, _ := strconv.ParseFloat(text, 64)
		return math.Copysign(r, f)
	}
	digits := []byte(whole + frac[:places])
	if frac[places] >= '5' {
		i := len(digits) - 1
		for ; i >= 0 && digits[i] == '9'; i-- {
			digits[i] = '0'
		}
		if i < 0 {
			digits = append([]byte{'1'}, digits...)
		} else {
			digits[i]++
		}
	}
	cut := len(digits) - places
	r, _ := strconv.ParseFloat(string(digits[:cut])+"."+string(digits[cut:])+"0", 64)
	if f < 0 {
		r = -r
	}
	return r
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err) // callers pass finite numbers
	}
	return b
}

// epoch is the time n epoch units after 1970 (perSecond units a second).
func epoch(name string, n any, perSecond int64) (any, error) {
	if i, ok := n.(int); ok {
		n = int64(i)
	}
	switch x := n.(type) {
	case int64: // also what timestamp.UnixMilli() gives
		if math.Abs(float64(x)/float64(perSecond)) > timelayout.MaxEpochSeconds {
			return nil, fmt.Errorf("%s: %d is out of range", name, x)
		}
		return time.Unix(x/perSecond, x%perSecond*(int64(time.Second)/perSecond)).UTC(), nil
	case float64:
		s := x / float64(perSecond)
		if math.IsNaN(s) || math.Abs(s) > timelayout.MaxEpochSeconds {
			return nil, fmt.Errorf("%s: %v is out of range", name, x)
		}
		// To the microsecond, about what a float64 of epoch seconds
		// holds: 1705314600.123 is 1705314600.1229999 in binary.
		sec := math.Floor(s)
		return time.Unix(int64(sec), int64(math.Round((s-sec)*1e6))*1e3).UTC(), nil
	}
	return nil, fmt.Errorf("%s: want a number (int() or float() convert a string), got %s", name, describe(n))
}

func parseTime(zones map[string]*time.Location, p ...any) (any, error) {
	layout, ok1 := p[0].(string)
	s, ok2 := p[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s: want a layout and a string, got %s and %s", fnParseTime, describe(p[0]), describe(p[1]))
	}
	loc := time.UTC
	if len(p) == 3 {
		name, ok := p[2].(string)
		if !ok {
			return nil, fmt.Errorf("%s: want a time zone name, got %s", fnParseTime, describe(p[2]))
		}
		if loc = zones[name]; loc == nil {
			var err error
			if loc, err = timelayout.LoadZone(name); err != nil {
				return nil, fmt.Errorf("%s: %w", fnParseTime, err)
			}
		}
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return nil, fmt.Errorf("%s: %s does not match layout %q", fnParseTime, describe(s), layout)
	}
	return t.UTC(), nil
}

func formatRFC3339(p ...any) (any, error) {
	t, ok := p[0].(time.Time)
	if !ok {
		return nil, fmt.Errorf("%s: want a time, got %s", fnFormatRFC339, describe(p[0]))
	}
	b, ok := optikpi.AppendDateTime(nil, t)
	if !ok {
		return nil, fmt.Errorf("%s: %s is outside the years 0001 to 9999", fnFormatRFC339, t)
	}
	return string(b), nil
}

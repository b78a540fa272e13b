package optikpi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Issues reported by Validate.
const (
	issueMissing  = "missing required field"
	issueEmpty    = "must not be empty"
	issueString   = "must be a string"
	issueNumber   = "must be a number"
	issueFinite   = "must be a finite number"
	issueInteger  = "must be an integer"
	issueBoolean  = "must be a boolean"
	issueDateTime = "must be an RFC 3339 UTC date-time such as 2024-01-15T10:30:00Z"
	issueDate     = "must be a date such as 1990-05-15"
	issueEmail    = "must be an email address"
	issueJSON     = "must be an object or a string holding JSON"
	issuePositive = "must be greater than 0"
	issueNegative = "must not be negative"
)

// Validate checks r against k's model and returns a *ValidationError for the
// first problem in table order, or nil.
//
// Required fields must be present, not null and, for strings, not "". An
// empty string is otherwise a value like any other: it satisfies an optional
// string field but not a format, an enumeration or a pattern. Fields outside
// the table are not checked here; AppendJSON rejects the ones it cannot
// encode. event_name is never checked against a list.
func (k Kind) Validate(r Record, opts ValidateOptions) error {
	if !k.Valid() {
		return fmt.Errorf("optikpi: validate: invalid kind %d", uint8(k))
	}
	m := &models[k]
	category := k.EventCategory()

	// Visit the record rather than the table: records hold far fewer fields
	// than the larger tables, and the lowest failing position wins.
	first, issue := len(m.fields), ""
	for name, v := range r {
		i, ok := m.index[name]
		if !ok || i >= first {
			continue
		}
		if s := checkField(&m.fields[i], v, opts.Strict, category); s != "" {
			first, issue = i, s
		}
	}
	strict := opts.rules()
	for _, i := range m.required[strict] {
		if i >= first {
			break
		}
		if _, ok := r[m.fields[i].Name]; !ok {
			first, issue = i, issueMissing
			break
		}
	}
	if issue == "" {
		return nil
	}
	return &ValidationError{Field: m.fields[first].Name, Issue: issue}
}

// required reports whether f must be present, not null and not "".
func (f *Field) required(strict bool) bool { return f.Required || strict && f.Strict.Required }

// checkField returns what is wrong with the present value v of f, or "".
func checkField(f *Field, v any, strict bool, category string) string {
	switch x := v.(type) {
	case nil:
		return checkNull(f, strict)
	case string:
		return checkString(f, x, strict, category)
	}
	switch f.Type {
	case TypeNumber, TypeInteger:
		sign, issue := number(v, f.Type == TypeInteger)
		if issue != "" {
			return issue
		}
		return checkSign(f, sign, strict)
	case TypeBoolean:
		if _, ok := v.(bool); ok {
			return ""
		}
	case TypeJSON:
		if isJSONField(v) {
			return ""
		}
	}
	return typeIssue[f.Type]
}

// typeIssue is, per field type, the issue of a value that does not fit it
// and that checkField's string and null rules leave to the type.
var typeIssue = [...]string{
	TypeString:   issueString,
	TypeNumber:   issueNumber,
	TypeInteger:  issueNumber,
	TypeBoolean:  issueBoolean,
	TypeDateTime: issueDateTime,
	TypeDate:     issueDate,
	TypeEmail:    issueEmail,
	TypeJSON:     issueJSON,
}

// checkNull is checkField for a null.
func checkNull(f *Field, strict bool) string {
	if f.required(strict) {
		return issueMissing
	}
	return ""
}

// checkString is checkField for the string s.
func checkString(f *Field, s string, strict bool, category string) string {
	if s == "" && f.required(strict) {
		return issueEmpty
	}
	switch f.Type {
	case TypeString:
		if category != "" && f.Name == "event_category" && s != category {
			return "must be " + strconv.Quote(category)
		}
		if strict {
			return checkStrictString(&f.Strict, s)
		}
		return ""
	case TypeDateTime:
		if isDateTime(s) {
			return ""
		}
	case TypeDate:
		if isDate(s) {
			return ""
		}
	case TypeEmail:
		if isEmail(s) {
			return ""
		}
	case TypeJSON:
		if isJSONString(s) {
			return ""
		}
	}
	return typeIssue[f.Type]
}

// checkSign checks the sign of a number field's value against its strict
// lower bound.
func checkSign(f *Field, sign int, strict bool) string {
	if !strict {
		return ""
	}
	switch f.Strict.Min {
	case Positive:
		if sign <= 0 {
			return issuePositive
		}
	case NonNegative:
		if sign < 0 {
			return issueNegative
		}
	}
	return ""
}

func checkStrictString(rules *StrictRules, s string) string {
	if rules.OneOf != nil && !slices.Contains(rules.OneOf, s) {
		return "must be one of " + strings.Join(rules.OneOf, ", ")
	}
	if rules.Pattern != nil && !rules.Pattern.MatchString(s) {
		return "must match " + rules.Pattern.String()
	}
	return ""
}

// number returns the sign (-1, 0 or +1) of a number field's value as the
// API reads it (a float64), or the issue with it.
func number(v any, integer bool) (int, string) {
	var x float64
	switch n := v.(type) {
	case json.Number:
		return numberSign(string(n), integer)
	case float64:
		x = n
	case float32:
		x = float64(n)
	default:
		i, u, signed, ok := goInteger(v)
		switch {
		case !ok:
			return 0, issueNumber
		case signed:
			return cmp.Compare(i, 0), ""
		}
		return cmp.Compare(u, 0), ""
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, issueFinite
	}
	if integer && x != math.Trunc(x) {
		return 0, issueInteger
	}
	return cmp.Compare(x, 0), ""
}

// numberSign is number for the text of a json.Number.
func numberSign(s string, integer bool) (int, string) {
	if !IsJSONNumber(s) {
		return 0, issueNumber
	}
	return jsonNumberSign(s, integer)
}

// jsonNumberSign is numberSign for s in JSON's grammar.
func jsonNumberSign(s string, integer bool) (int, string) {
	sign, ok, whole := plainSign(s)
	if !ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil { // only a range error is left: the API would see ±Infinity
			return 0, issueFinite
		}
		sign = cmp.Compare(f, 0)
	}
	// Digits alone are integral; a fraction or an exponent takes a look.
	if integer && !whole && !isIntegralText(s) {
		return 0, issueInteger
	}
	return sign, ""
}

// plainSign returns the sign of the JSON number s without strconv when s
// has no exponent and fewer than 300 bytes: such a number is finite as a
// float64 (at most 299 integer digits), and zero only when all its digits
// are (it is at least 1e-298). whole reports that s is digits alone,
// after an optional '-': an integer, whatever ok says.
func plainSign(s string) (sign int, ok, whole bool) {
	whole = true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'e' || c == 'E':
			return 0, false, false
		case c == '.':
			whole = false
		case '1' <= c && c <= '9':
			sign = 1
		}
	}
	if len(s) >= 300 {
		return 0, false, whole
	}
	if s[0] == '-' {
		sign = -sign
	}
	return sign, true, whole
}

// IsJSONNumber reports whether s is a number in JSON's grammar (RFC 8259).
func IsJSONNumber(s string) bool { return NumberEnd(s, 0) == len(s) }

// NumberEnd returns the index just past the JSON number (RFC 8259) that
// starts at s[i], the longest the grammar allows, or -1 when none starts
// there. A reader of JSON text finds a number's end with it in one pass.
func NumberEnd(s string, i int) int {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = skipDigits(s, i+1)
	default:
		return -1
	}
	if i < len(s) && s[i] == '.' {
		if i+1 >= len(s) || !isDigit(s[i+1]) {
			return -1
		}
		i = skipDigits(s, i+1)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return -1
		}
		i = skipDigits(s, i)
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func skipDigits(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// isIntegralText reports whether the valid JSON number s has an integral
// value, exactly: "3", "3.0", "1e3" and "30e-1" do; "3.5" and "1e-1" do not.
func isIntegralText(s string) bool {
	mant, exp := s, ""
	if j := strings.IndexAny(s, "eE"); j >= 0 {
		mant, exp = s[:j], s[j+1:]
	}
	intPart, frac := mant, ""
	if j := strings.IndexByte(mant, '.'); j >= 0 {
		intPart, frac = mant[:j], mant[j+1:]
	}
	intPart = strings.TrimLeft(intPart, "-")
	// value = digits × 10^scale, with digits free of trailing zeros.
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return true // zero
	}
	trimmed := strings.TrimRight(digits, "0")
	scale := int64(len(digits)-len(trimmed)) - int64(len(frac))
	if exp != "" {
		e, err := strconv.ParseInt(exp, 10, 64)
		if err != nil { // an exponent beyond int64: its sign decides
			return exp[0] != '-'
		}
		switch {
		case e > 0 && scale > math.MaxInt64-e:
			return true
		case e < 0 && scale < math.MinInt64-e:
			return false
		}
		scale += e
	}
	return scale >= 0
}

// isDateTime reports whether s is YYYY-MM-DDTHH:MM:SS[.f…]Z, a real instant.
func isDateTime(s string) bool {
	_, rest, ok := readDateTime(s)
	if !ok || rest == "" {
		return false
	}
	if rest[0] == '.' {
		n := skipDigits(rest, 1)
		if n == 1 || n > 10 { // 1 to 9 fractional digits
			return false
		}
		rest = rest[n:]
	}
	return rest == "Z"
}

// isDate reports whether s is YYYY-MM-DD, a real calendar date.
func isDate(s string) bool {
	_, ok := readDate(s)
	return ok && len(s) == 10
}

// civil is a date and a time of day as written.
type civil struct{ year, month, day, hour, min, sec int }

// readDate reads the real calendar date YYYY-MM-DD that s starts with.
func readDate(s string) (c civil, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return c, false
	}
	hi, ok1 := twoDigits(s[0:2])
	lo, ok2 := twoDigits(s[2:4])
	month, ok3 := twoDigits(s[5:7])
	day, ok4 := twoDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 || month < 1 || month > 12 || day < 1 {
		return c, false
	}
	c = civil{year: hi*100 + lo, month: month, day: day}
	return c, day <= daysIn(month, c.year)
}

// readDateTime reads the real date and time YYYY-MM-DDTHH:MM:SS (no leap
// second) that s starts with, and returns the rest of s.
func readDateTime(s string) (c civil, rest string, ok bool) {
	// 2024-01-15T10:30:00
	// 0123456789012345678
	if len(s) < 19 || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return c, "", false
	}
	if c, ok = readDate(s); !ok {
		return c, "", false
	}
	var ok1, ok2, ok3 bool
	c.hour, ok1 = twoDigits(s[11:13])
	c.min, ok2 = twoDigits(s[14:16])
	c.sec, ok3 = twoDigits(s[17:19])
	if !ok1 || !ok2 || !ok3 || c.hour > 23 || c.min > 59 || c.sec > 59 {
		return c, "", false
	}
	return c, s[19:], true
}

func twoDigits(s string) (int, bool) {
	if !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// isEmail matches ^[^\s@]+@[^\s@]+\.[^\s@]+$ as JavaScript reads it: one @,
// no white space, and a dot in the domain with something on both sides.
func isEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return false
	}
	for _, r := range s {
		if isJSSpace(r) {
			return false
		}
	}
	domain := s[at+1:]
	return len(domain) >= 3 && strings.IndexByte(domain[1:len(domain)-1], '.') >= 0
}

// isJSSpace is JavaScript's \s.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return 0x2000 <= r && r <= 0x200a
}

// isJSONField reports whether v fits a JSON field: an object, or a string
// holding valid JSON.
func isJSONField(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		return true
	case string:
		return isJSONString(x)
	case json.RawMessage:
		return isJSONRaw(x)
	}
	return false
}

// isJSONString is isJSONField for a string.
func isJSONString(s string) bool { return json.Valid(rawBytes(s)) }

// isJSONRaw is isJSONField for a json.RawMessage.
func isJSONRaw(raw []byte) bool {
	raw = trimSpace(raw)
	if len(raw) == 0 || !json.Valid(raw) {
		return false
	}
	switch raw[0] {
	case '{':
		return true
	case '"':
		var s string
		return json.Unmarshal(raw, &s) == nil && isJSONString(s)
	}
	return false
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

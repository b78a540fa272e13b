package optikpi

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Encode validates r as a record of kind k and encodes it.
func Encode(k Kind, r Record, opts ValidateOptions) (Encoded, error) {
	if err := k.Validate(r, opts); err != nil {
		return Encoded{}, err
	}
	b, err := k.AppendJSON(make([]byte, 0, 48*len(r)), r)
	if err != nil {
		return Encoded{}, err
	}
	uid, _ := r["user_id"].(string)
	eid, _ := r["event_id"].(string)
	n := len(b)
	// The ids follow the JSON in the same memory, as Builder.Encode's do.
	b = append(append(b, uid...), eid...)
	return encodedAlone(k, b, n, len(uid), len(eid)), nil
}

// AppendJSON appends r to dst as one JSON object: k's fields in table order,
// then any other fields sorted by name. The bytes depend only on r.
//
// Strings are escaped as JavaScript's JSON.stringify escapes them: `"`, `\`
// and control characters only, so / < > & and U+2028/U+2029 stay as they are.
// Invalid UTF-8 becomes U+FFFD, as encoding/json and the API's own decoder
// do. Numbers keep a json.Number's text; floats are formatted as
// encoding/json formats them, with -0 as 0. A json.RawMessage is checked and
// compacted. NaN, Infinity, a malformed json.Number or a Go type outside
// Record's documentation is a *ValidationError naming the top-level field;
// dst is then returned unchanged.
func (k Kind) AppendJSON(dst []byte, r Record) ([]byte, error) {
	if !k.Valid() {
		return dst, fmt.Errorf("optikpi: encode: invalid kind %d", uint8(k))
	}
	m := &models[k]
	start := len(dst)

	// Mark the table's fields present in r, then write them in table order.
	var present [maxFields / 64]uint64
	var values [maxFields]any
	extra := 0
	for name, v := range r {
		if i, ok := m.index[name]; ok {
			present[i/64] |= 1 << (i % 64)
			values[i] = v
		} else {
			extra++
		}
	}
	dst = append(dst, '{')
	comma := false
	var err error
	for w, word := range present {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			key := m.enc[i].key()
			if !comma {
				key = key[1:]
			}
			comma = true
			dst = append(dst, key...)
			if dst, err = appendValue(dst, values[i], 0); err != nil {
				return dst[:start], &ValidationError{Field: m.fields[i].Name, Issue: err.Error()}
			}
		}
	}
	if extra > 0 {
		var buf [16]string
		names := buf[:0]
		for name := range r {
			if _, ok := m.index[name]; !ok {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			if comma {
				dst = append(dst, ',')
			}
			comma = true
			dst = append(appendString(dst, name), ':')
			if dst, err = appendValue(dst, r[name], 0); err != nil {
				return dst[:start], &ValidationError{Field: name, Issue: err.Error()}
			}
		}
	}
	return append(dst, '}'), nil
}

// maxDepth is encoding/json's nesting limit, so that whatever DecodeRecords
// accepts can be encoded again.
const maxDepth = 10000

// encodeError is an issue found while encoding; AppendJSON names the field.
type encodeError string

func (e encodeError) Error() string { return string(e) }

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, x), nil
	case json.Number:
		return appendNumber(dst, string(x))
	case bool:
		return strconv.AppendBool(dst, x), nil
	case float64:
		return appendFloat(dst, x, 64)
	case float32:
		return appendFloat(dst, float64(x), 32)
	case map[string]any:
		if depth >= maxDepth {
			return dst, encodeError("nested too deeply")
		}
		dst = append(dst, '{')
		keys := make([]string, 0, len(x))
		for key := range x {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		var err error
		for i, key := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(dst, key), ':')
			if dst, err = appendValue(dst, x[key], depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		if depth >= maxDepth {
			return dst, encodeError("nested too deeply")
		}
		dst = append(dst, '[')
		var err error
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case json.RawMessage:
		return appendRaw(dst, x)
	}
	if i, u, signed, ok := goInteger(v); ok {
		if signed {
			return strconv.AppendInt(dst, i, 10), nil
		}
		return strconv.AppendUint(dst, u, 10), nil
	}
	return dst, encodeError(fmt.Sprintf("unsupported Go type %T", v))
}

// appendNumber appends the text of a json.Number, checked.
func appendNumber(dst []byte, s string) ([]byte, error) {
	if !IsJSONNumber(s) {
		return dst, encodeError(fmt.Sprintf("invalid number %q", s))
	}
	return append(dst, s...), nil
}

// appendRaw appends a json.RawMessage, checked and compacted.
func appendRaw(dst, raw []byte) ([]byte, error) {
	if !json.Valid(raw) {
		return dst, encodeError("invalid JSON in json.RawMessage")
	}
	return appendCompact(dst, raw), nil
}

// goInteger returns the value of any Go integer type, in i when signed and in
// u when not.
func goInteger(v any) (i int64, u uint64, signed, ok bool) {
	switch x := v.(type) {
	case int:
		return int64(x), 0, true, true
	case int8:
		return int64(x), 0, true, true
	case int16:
		return int64(x), 0, true, true
	case int32:
		return int64(x), 0, true, true
	case int64:
		return x, 0, true, true
	case uint:
		return 0, uint64(x), false, true
	case uint8:
		return 0, uint64(x), false, true
	case uint16:
		return 0, uint64(x), false, true
	case uint32:
		return 0, uint64(x), false, true
	case uint64:
		return 0, x, false, true
	}
	return 0, 0, false, false
}

// appendFloat formats f as encoding/json does, which is JavaScript's
// Number.prototype.toString except for -0.
func appendFloat(dst []byte, f float64, bitSize int) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, encodeError("NaN and Infinity are not JSON")
	}
	if f == 0 {
		return append(dst, '0'), nil // also -0
	}
	abs := math.Abs(f)
	format := byte('f')
	if bitSize == 64 && (abs < 1e-6 || abs >= 1e21) ||
		bitSize == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bitSize)
	if format == 'e' {
		// 1e-07 → 1e-7, as JavaScript writes it.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, quoted and escaped as
// JSON.stringify escapes, with invalid UTF-8 as U+FFFD.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a JSON string, escaped as JSON.stringify escapes.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight bytes at a time while none needs a look.
		for i+8 <= len(s) {
			n := PlainPrefix8(binary.LittleEndian.Uint64(rawBytes(s[i : i+8])))
			i += n
			if n < 8 {
				break
			}
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// PlainPrefix8 returns how many of the eight bytes in x, in memory order
// (little-endian), are plain before the first that is not: ASCII that a
// JSON string holds as it is, none below 0x20, none '"' or '\\'; 8 when all
// are. Each test finds the first byte it matches exactly (SWAR, as in "Bit
// Twiddling Hacks": haszero and hasless; a false match comes only after a
// true one). The encoder copies plain runs as they are, and the mapper's
// reader skips them.
//
// haszero and hasless mask their subtraction by ^x, which clears the high
// bit of a byte that had it; such a byte is not plain, and | x flags it
// anyway, so the masks are left out.
func PlainPrefix8(x uint64) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	hit := (x - ones*0x20) | (quote - ones) | (backslash - ones) | x
	return bits.TrailingZeros64(hit&highs) / 8
}

// appendCompact appends the valid JSON src without insignificant white space,
// leaving its escapes as they are but replacing invalid UTF-8 with U+FFFD.
// What it keeps it appends a run at a time, and it steps over a string's
// plain text eight bytes at a time.
func appendCompact(dst, src []byte) []byte {
	inString := false
	run := 0 // the start of what is kept and not yet appended
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case inString && c >= ' ' && c != '"' && c != '\\' && c < utf8.RuneSelf:
			for i++; i+8 <= len(src); i += 8 {
				if n := PlainPrefix8(binary.LittleEndian.Uint64(src[i:])); n < 8 {
					i += n
					break
				}
			}
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(append(dst, src[run:i]...), "\uFFFD"...)
				run = i + size
			}
			i += size
			continue
		case inString && c == '\\':
			i += 2
			continue
		case c == '"':
			inString = !inString
		case !inString && isJSONSpace(c):
			dst = append(dst, src[run:i]...)
			run = i + 1
		}
		i++
	}
	return append(dst, src[run:]...)
}

package emulator

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// errTooMany is splitRecords' error for a body with more than max records.
var errTooMany = errors.New("too many records")

// The top-level fields splitRecords notes, indexes of record.fields.
const (
	fieldEventID = iota
	fieldEventTime
	numFields
)

const eventIDKey, eventTimeKey = "event_id", "event_time"

var fieldNames = [numFields]string{fieldEventID: eventIDKey, fieldEventTime: eventTimeKey}

// fieldOf returns the field named key, or -1.
func fieldOf(key []byte) int {
	switch string(key) {
	case eventIDKey:
		return fieldEventID
	case eventTimeKey:
		return fieldEventTime
	}
	return -1
}

// record is one record of a request body, delimited without decoding it.
type record struct {
	raw []byte
	// fields are the raw JSON of the first value of each of fieldNames at
	// the record's top level, nil when absent, noted in the pass that
	// delimits it so that no field costs a second one.
	fields [numFields][]byte
	// irregular is set when the top level is not plain "key": value pairs
	// (an escaped key, a bare word…): fields is then empty and
	// stringField asks gjson, which is what it answers for regular ones.
	irregular bool
}

// stringField returns the raw JSON, quotes included, of the record's
// top-level field f when it is a string, as gjson.GetBytes finds it, else
// nil.
func (r *record) stringField(f int) []byte {
	if r.irregular {
		if v := gjson.GetBytes(r.raw, fieldNames[f]); v.Type == gjson.String {
			return []byte(v.Raw)
		}
		return nil
	}
	if v := r.fields[f]; len(v) > 0 && v[0] == '"' {
		return v
	}
	return nil
}

// unquote returns the text of a JSON string token, as gjson's Str.
func unquote(tok []byte) string {
	if bytes.IndexByte(tok, '\\') < 0 {
		return string(tok[1 : len(tok)-1])
	}
	return gjson.ParseBytes(tok).Str
}

// splitRecords delimits the records of a request body without decoding
// them, appending them to recs[:0]: the body itself when it is one object
// (single), else the elements of the array, each of which must be an
// object. Only the array's structure is checked; what is inside an object
// is the decoder's business. Scanning stops after max+1 records with
// errTooMany.
func splitRecords(body []byte, max int, recs []record) (_ []record, single bool, err error) {
	recs = recs[:0]
	i := skipSpace(body, 0)
	if i == len(body) {
		return recs, false, errors.New("empty body")
	}
	switch body[i] {
	case '{':
		recs = append(recs, record{})
		end, err := scanRecord(body, i, &recs[0])
		if err != nil {
			return recs[:0], true, err
		}
		if skipSpace(body, end) != len(body) {
			return recs[:0], true, errors.New("data after the JSON value")
		}
		return recs, true, nil
	case '[':
	default:
		return recs, false, errors.New("want an object or an array of objects")
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == ']' {
		i++
	} else {
		for {
			if i == len(body) {
				return recs, false, errors.New("unexpected end of the array")
			}
			if body[i] != '{' {
				return recs, false, fmt.Errorf("element %d of the array is not an object", len(recs))
			}
			recs = append(recs, record{})
			end, err := scanRecord(body, i, &recs[len(recs)-1])
			if err != nil {
				return recs[:len(recs)-1], false, fmt.Errorf("element %d: %w", len(recs)-1, err)
			}
			if len(recs) > max {
				return recs, false, errTooMany
			}
			i = skipSpace(body, end)
			if i == len(body) {
				return recs, false, errors.New("unexpected end of the array")
			}
			if body[i] == ']' {
				i++
				break
			}
			if body[i] != ',' {
				return recs, false, fmt.Errorf("want , or ] after element %d", len(recs)-1)
			}
			i = skipSpace(body, i+1)
		}
	}
	if skipSpace(body, i) != len(body) {
		return recs, false, errors.New("data after the JSON value")
	}
	return recs, false, nil
}

// scanRecord delimits the object at b[i] into r, as skipObject does, noting
// its fields on the way. It reads the top level as JSON, key by key; what
// it does not expect there, it leaves to skipObject, which has the last
// word on where the object ends and what is wrong with it.
func scanRecord(b []byte, i int, r *record) (end int, err error) {
	start := i
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		r.raw = b[start : i+1]
		return i + 1, nil
	}
	for i < len(b) && b[i] == '"' {
		q, escaped := skipString(b, i)
		if q < 0 || escaped {
			break // an escaped key gjson would match unescaped
		}
		key := b[i+1 : q]
		if i = skipSpace(b, q+1); i == len(b) || b[i] != ':' {
			break
		}
		v := skipSpace(b, i+1)
		if i = skipValue(b, v); i < 0 {
			break
		}
		if f := fieldOf(key); f >= 0 && r.fields[f] == nil {
			r.fields[f] = b[v:i]
		}
		if i = skipSpace(b, i); i == len(b) {
			break
		}
		if b[i] == '}' {
			r.raw = b[start : i+1]
			return i + 1, nil
		}
		if b[i] != ',' {
			break
		}
		i = skipSpace(b, i+1)
	}
	*r = record{irregular: true}
	if end, err = skipObject(b, start); err != nil {
		return 0, err
	}
	r.raw = b[start:end]
	return end, nil
}

// skipValue returns the index just past the value at b[i]: a string, an
// object or array as skipObject delimits it (holding no parenthesis), or
// true, false, null or a JSON number; -1 for anything else.
func skipValue(b []byte, i int) int {
	if i == len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		if q, _ := skipString(b, i); q >= 0 {
			return q + 1
		}
		return -1
	case '{', '[':
		end, err := skipObject(b, i)
		// gjson skips a nested value counting ( and ) as brackets too, so
		// where one stands outside a string (not JSON) it ends the value
		// elsewhere: leave a value holding one to gjson.
		if err != nil || bytes.ContainsAny(b[i:end], "()") {
			return -1
		}
		return end
	case 't':
		return skipWord(b, i, "true")
	case 'f':
		return skipWord(b, i, "false")
	case 'n':
		return skipWord(b, i, "null")
	}
	return skipNumber(b, i)
}

func skipWord(b []byte, i int, w string) int {
	if bytes.HasPrefix(b[i:], []byte(w)) {
		return i + len(w)
	}
	return -1
}

// skipNumber returns the index just past the JSON number at b[i], or -1:
// the number runs to the next white space, comma or closing bracket, as
// gjson reads it.
func skipNumber(b []byte, i int) int {
	j := i
	for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	if !optikpi.IsJSONNumber(string(b[i:j])) {
		return -1
	}
	return j
}

// skipObject returns the index just past the object that starts at b[i],
// matching brackets outside strings.
func skipObject(b []byte, i int) (int, error) {
	var buf [32]byte
	open := buf[:0] // the closers expected, innermost last
	for ; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			end, _ := skipString(b, i)
			if end < 0 {
				return 0, errors.New("unterminated string")
			}
			i = end
		case '{':
			open = append(open, '}')
		case '[':
			open = append(open, ']')
		case '}', ']':
			if len(open) == 0 || open[len(open)-1] != c {
				return 0, fmt.Errorf("unexpected %c", c)
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, errors.New("unterminated object")
}

// skipString returns the index of the quote that closes the string opening
// at b[i], or -1, and whether the string holds an escape. A byte at a time:
// the strings of a record are short, shorter than what makes
// bytes.IndexByte, or eight bytes at a time, pay.
func skipString(b []byte, i int) (q int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return j, escaped
		case '\\':
			escaped = true
			j++ // the escaped byte, a quote maybe
		}
	}
	return -1, escaped
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

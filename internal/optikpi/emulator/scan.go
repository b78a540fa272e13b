package emulator

import (
	"bytes"
	"errors"
	"fmt"
)

// errTooMany is splitRecords' error for a body with more than max records.
var errTooMany = errors.New("too many records")

// splitRecords delimits the records of a request body without decoding
// them: the body itself when it is one object (single), else the elements
// of the array, each of which must be an object. Only the array's structure
// is checked; what is inside an object is the decoder's business. Scanning
// stops after max+1 records with errTooMany.
func splitRecords(body []byte, max int) (recs [][]byte, single bool, err error) {
	i := skipSpace(body, 0)
	if i == len(body) {
		return nil, false, errors.New("empty body")
	}
	switch body[i] {
	case '{':
		end, err := skipObject(body, i)
		if err != nil {
			return nil, true, err
		}
		if skipSpace(body, end) != len(body) {
			return nil, true, errors.New("data after the JSON value")
		}
		return [][]byte{body[i:end]}, true, nil
	case '[':
	default:
		return nil, false, errors.New("want an object or an array of objects")
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
			end, err := skipObject(body, i)
			if err != nil {
				return recs, false, fmt.Errorf("element %d: %w", len(recs), err)
			}
			recs = append(recs, body[i:end])
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

// skipObject returns the index just past the object that starts at b[i],
// matching brackets outside strings.
func skipObject(b []byte, i int) (int, error) {
	var buf [32]byte
	open := buf[:0] // the closers expected, innermost last
	for ; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			end := skipString(b, i)
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
// at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return -1
		}
		q += j
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for k := q - 1; k > i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		j = q + 1
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

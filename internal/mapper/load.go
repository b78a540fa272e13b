package mapper

import (
	"encoding/binary"
	"unicode/utf8"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// Nearly every value is a well-formed object without a key given twice,
// and reading it is most of a record's cost. So load reads it in one pass:
// it checks what checkValue checks (one JSON object, as gjson.ValidBytes
// and utf8.Valid together; at most MaxDepth deep; no key twice in one
// object) and, on the way, notes the values of the keys the plan reads at
// the first and second level, as reset and scan would find them. It refuses
// the rest without saying why, leaving them to the slow path: checkValue
// names the defect, a duplicate key is refused or rewritten, and a key with
// an escape (which load does not unescape) is read by reset.

// lframe is an open object or array of the value being loaded.
type lframe struct {
	frame     // the duplicate-key state, as scanValue keeps it
	start int // index of its '{' or '['
	// pend is where the value of the member being read goes: a slot of
	// doc.top in the outermost object, of doc.sub in an object that kids
	// reads; -1 for none.
	pend int
	kids *keyTable // the plan's second-level keys of this object, if any
	top  int       // for the value of a key the plan reads: its slot in doc.top, else -1
}

// What load expects next.
const (
	expectValue      = iota
	expectValueOrEnd // after '['
	expectKey        // after ',' in an object
	expectKeyOrEnd   // after '{'
	expectMore       // after a value: ',' or the end of its container
)

// load makes d the doc of rec as reset does, reading the plan's keys in the
// same pass that checks the value. It reports false, with d in no
// particular state, for a value the slow path must read: not one valid
// JSON object in valid UTF-8, nested deeper than MaxDepth, or with a key
// given twice or written with an escape.
func (d *doc) load(rec *kgo.Record, pl *plan) bool {
	d.reset(nil, nil)
	v := rec.Value
	d.rec, d.s, d.pl = rec, unsafe.String(unsafe.SliceData(v), len(v)), pl
	if pl != nil {
		d.size(pl)
		// An object scanned below is marked 1; what is not an object or
		// not there is 2, as scan would find.
		for i := range d.scanned {
			d.scanned[i] = 2
		}
	}
	var frameBuf [16]lframe
	var keyBuf [64]span
	frames, keys := frameBuf[:0], keyBuf[:0]
	var dups scanned
	i, want := skipSpace(v), expectValue
	if i == len(v) || v[i] != '{' {
		return false
	}
	for {
		// Written out rather than i += skipSpace(v[i:]): the slice and
		// the call made BenchmarkParse/deposit 10% slower, inlined or not.
		for i < len(v) && isSpace(v[i]) {
			i++
		}
		if i == len(v) {
			return false
		}
		c := v[i]
		switch want {
		case expectKey, expectKeyOrEnd:
			f := &frames[len(frames)-1]
			if c == '}' && want == expectKeyOrEnd {
				want = expectMore // an empty object closes as after a value
				continue
			}
			if c != '"' {
				return false
			}
			end, escaped, ok := loadString(v, i+1)
			if !ok || escaped {
				return false
			}
			k := span{i + 1, end - 1}
			kb := keyBit(v[k.start:k.end])
			bit := uint64(1) << kb
			if f.seen&bit != 0 || f.many {
				keys = addKey(v, &f.frame, keys, k, &dups)
				if dups.hasDup {
					return false
				}
			} else {
				f.seen |= bit
				keys = append(keys, k)
			}
			f.pend = -1
			if pl != nil {
				name := d.s[k.start:k.end]
				switch {
				case len(frames) == 1:
					if j, ok := pl.keys.find(name, kb); ok {
						f.pend = j
					}
				case f.kids != nil:
					if j, ok := f.kids.find(name, kb); ok {
						f.pend = j
					}
				}
			}
			for i = end; i < len(v) && isSpace(v[i]); i++ {
			}
			if i == len(v) || v[i] != ':' {
				return false
			}
			i, want = i+1, expectValue
		case expectValue, expectValueOrEnd:
			if c == ']' && want == expectValueOrEnd {
				want = expectMore // an empty array closes as after a value
				continue
			}
			if c == '{' || c == '[' {
				if len(frames) == MaxDepth {
					return false
				}
				nf := lframe{frame: frame{object: c == '{', first: len(keys)}, start: i, pend: -1, top: -1}
				if n := len(frames); c == '{' && n == 1 && pl != nil && frames[0].pend >= 0 {
					nf.top = frames[0].pend
					nf.kids = pl.kids[nf.top]
				}
				frames = append(frames, nf)
				want = expectKeyOrEnd
				if c == '[' {
					want = expectValueOrEnd
				}
				i++
				continue
			}
			// A scalar: its end, or -1 when it is not one.
			var end int
			var escaped bool
			switch c {
			case '"':
				var ok bool
				if end, escaped, ok = loadString(v, i+1); !ok {
					return false
				}
			case 't', 'f', 'n':
				end = loadLiteral(d.s, i)
			default:
				end = optikpi.NumberEnd(d.s, i)
			}
			if end < 0 {
				return false
			}
			if f := &frames[len(frames)-1]; f.pend >= 0 {
				d.note(f, len(frames), slot{int32(i), int32(end), escaped})
			}
			i, want = end, expectMore
		case expectMore:
			f := &frames[len(frames)-1]
			switch {
			case c == ',':
				want = expectValue
				if f.object {
					want = expectKey
				}
				i++
			case c == '}' && f.object, c == ']' && !f.object:
				frames, keys = d.closeContainer(frames, keys, i, &dups)
				if dups.hasDup {
					return false
				}
				i++
				if len(frames) == 0 {
					return skipSpace(v[i:]) == len(v)-i
				}
			default:
				return false
			}
		}
	}
}

// closeContainer closes the innermost open container, which ends at v[i],
// noting its value where its parent's member goes.
func (d *doc) closeContainer(frames []lframe, keys []span, i int, dups *scanned) ([]lframe, []span) {
	n := len(frames)
	f := &frames[n-1]
	if f.many {
		sortedDup(d.rec.Value, keys[f.first:], dups)
	}
	if f.top >= 0 {
		d.scanned[f.top] = 1
	}
	keys = keys[:f.first]
	start := f.start
	frames = frames[:n-1]
	if n > 1 {
		if p := &frames[n-2]; p.pend >= 0 {
			d.note(p, n-1, slot{int32(start), int32(i + 1), false})
		}
	}
	return frames, keys
}

// note puts sl, the value of the member being read of f, the object at
// the given depth (1 for the outermost), in its slot.
func (d *doc) note(f *lframe, depth int, sl slot) {
	if depth == 1 {
		d.top[f.pend] = sl
	} else {
		d.sub[f.pend] = sl
	}
	f.pend = -1
}

// loadString returns the index after the quote that ends the string whose
// text starts at v[j], whether it has an escape, and whether it is a valid
// JSON string in valid UTF-8.
func loadString(v []byte, j int) (end int, escaped, ok bool) {
	for j < len(v) {
		for j+8 <= len(v) {
			n := optikpi.PlainPrefix8(binary.LittleEndian.Uint64(v[j:]))
			j += n
			if n < 8 {
				break
			}
		}
		if j == len(v) {
			break
		}
		switch c := v[j]; {
		case c == '"':
			return j + 1, escaped, true
		case c == '\\':
			escaped = true
			if j+1 == len(v) {
				return j, true, false
			}
			switch v[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(v) || !isHex(v[j+2]) || !isHex(v[j+3]) || !isHex(v[j+4]) || !isHex(v[j+5]) {
					return j, true, false
				}
				j += 6
			default:
				return j, true, false
			}
		case c < ' ':
			return j, escaped, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(v[j:])
			if r == utf8.RuneError && size == 1 {
				return j, escaped, false
			}
			j += size
		default:
			j++
		}
	}
	return j, escaped, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// loadLiteral reads true, false or null at s[i]; end is -1 for none.
func loadLiteral(s string, i int) (end int) {
	for _, l := range [...]string{"true", "false", "null"} {
		if len(s)-i >= len(l) && s[i:i+len(l)] == l {
			return i + len(l)
		}
	}
	return -1
}

package mapper

import (
	"encoding/binary"
	"unicode/utf8"

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

// maxKeptKeys bounds the key stack (16 bytes a key) that a doc keeps from
// one load to the next.
const maxKeptKeys = 4096

// lframe is an open object or array of the value being loaded. It holds no
// pointer, so pushing one onto doc.lframes costs no write barrier.
type lframe struct {
	frame // the duplicate-key state, as scanValue keeps it
	// seen2 is frame.seen by the second of keyHashes: a key is compared
	// with the others (addKey) only when its bits are set in both.
	seen2 uint64
	start int32 // index of its '{' or '['
	// pend is where the value of the member being read goes: a slot of
	// doc.top in the outermost object, of doc.sub in an object whose keys
	// plan.kids lists; -1 for none, as note leaves it.
	pend int32
	// top is, for an object that is the value of a top-level key the plan
	// reads, that key's slot in doc.top (and index in plan.kids), else -1.
	top int32
}

// load makes d the doc of rec as reset does, reading the plan's keys in the
// same pass that checks the value. It reports false, with d in no
// particular state, for a value the slow path must read: not one valid
// JSON object in valid UTF-8, nested deeper than MaxDepth, or with a key
// given twice or written with an escape.
//
// Each state of the pass (a key, a value, what follows a value) is its own
// label, so that each transition is a branch of its own, which the CPU
// predicts better than one switch on the state.
func (d *doc) load(rec *kgo.Record, pl *plan) bool {
	d.start(rec, pl) // what is not marked scanObject below is scanNone
	v := rec.Value
	if d.lframes == nil {
		d.lframes, d.lkeys = make([]lframe, 0, 16), make([]span, 0, 64)
	}
	frames, keys := d.lframes[:0], d.lkeys[:0]
	var (
		dups    scanned
		f       *lframe // the innermost open container
		c       byte
		end     int
		escaped bool
		ok      bool
	)
	// White space is skipped in loops written out where it may be: a
	// skipSpace call made BenchmarkParse/deposit 10% slower, inlined or not.
	i := skipSpace(v)
	if i == len(v) || v[i] != '{' {
		return false
	}
	c = '{'

open: // v[i] is c, '{' or '['
	if len(frames) == MaxDepth {
		return false
	}
	frames = append(frames, lframe{frame: frame{object: c == '{', first: int32(len(keys))}, start: int32(i), pend: -1, top: -1})
	f = &frames[len(frames)-1]
	if c == '{' && len(frames) == 2 && pl != nil {
		f.top = frames[0].pend
	}
	for i++; i < len(v) && v[i] <= ' ' && isSpace(v[i]); i++ {
	}
	if i == len(v) {
		return false
	}
	if c == '{' {
		if v[i] == '}' {
			goto close // an empty object closes as after a value
		}
		goto key
	}
	if v[i] == ']' {
		goto close
	}
	goto value

key: // v[i] is the first byte of what should be a key
	if v[i] != '"' {
		return false
	}
	{
		// The key's first eight bytes are its keyWord (masked to its
		// length) as well as the first run that PlainPrefix8 checks.
		ks := i + 1
		var w uint64
		end = ks
		if ks+8 <= len(v) {
			w = binary.LittleEndian.Uint64(v[ks:])
			// As for a string value below.
			if n := optikpi.PlainPrefix8(w); n < 8 {
				end += n
			} else {
				for end += 8; end+8 <= len(v); end += 8 {
					if n := optikpi.PlainPrefix8(binary.LittleEndian.Uint64(v[end:])); n < 8 {
						end += n
						break
					}
				}
			}
		}
		if end < len(v) && v[end] == '"' {
			end++
		} else if end, escaped, ok = loadString(v, end); !ok || escaped {
			return false
		}
		k := span{ks, end - 1}
		if n := k.end - ks; n < 8 {
			if ks+8 <= len(v) {
				w &= 1<<(8*n) - 1
			} else {
				w = keyWord(v[ks:k.end])
			}
		}
		h, h2 := keyHashes(w, k.end-ks)
		if bit, bit2 := uint64(1)<<(h&63), uint64(1)<<(h2&63); f.seen&bit != 0 && f.seen2&bit2 != 0 || f.many {
			keys = addKey(v, &f.frame, keys, k, &dups)
			if dups.hasDup {
				return false
			}
		} else {
			f.seen |= bit
			f.seen2 |= bit2
			keys = append(keys, k)
		}
		if pl != nil {
			switch {
			case len(frames) == 1:
				if j, ok := pl.keys.findWord(d.s[ks:k.end], w, h); ok {
					f.pend = int32(j)
				}
			case f.top >= 0 && pl.kids[f.top] != nil:
				if j, ok := pl.kids[f.top].findWord(d.s[ks:k.end], w, h); ok {
					f.pend = int32(j)
				}
			}
		}
	}
	if end+1 < len(v) && v[end] == ':' && v[end+1] > ' ' {
		i = end + 1 // most values are compact: a colon, then the value
		goto value
	}
	for i = end; i < len(v) && v[i] <= ' ' && isSpace(v[i]); i++ {
	}
	if i == len(v) || v[i] != ':' {
		return false
	}
	for i++; i < len(v) && v[i] <= ' ' && isSpace(v[i]); i++ {
	}
	if i == len(v) {
		return false
	}

value: // v[i] is the first byte of what should be a value
	escaped = false // a key or an earlier string may have set it
	switch c = v[i]; c {
	case '{', '[':
		goto open
	case '"':
		// end steps by a constant 8, not by the count of each run, so
		// that the next run's load does not wait for this run's count:
		// the CPU checks runs of a long string side by side.
		end = i + 1
		for ; end+8 <= len(v); end += 8 {
			if n := optikpi.PlainPrefix8(binary.LittleEndian.Uint64(v[end:])); n < 8 {
				end += n
				break
			}
		}
		if end < len(v) && v[end] == '"' {
			end++
		} else if end, escaped, ok = loadString(v, end); !ok {
			return false
		}
	case 't', 'f', 'n':
		if end = loadLiteral(v, i); end < 0 {
			return false
		}
	default:
		end = i + 1
		if '1' <= c && c <= '9' {
			for end < len(v) && '0' <= v[end] && v[end] <= '9' {
				end++
			}
			if end < len(v) && (v[end] == '.' || v[end]|0x20 == 'e') {
				end = optikpi.NumberEnd(d.s, i)
			}
		} else {
			end = optikpi.NumberEnd(d.s, i)
		}
		if end < 0 {
			return false
		}
	}
	if f.pend >= 0 {
		d.note(f, len(frames), slot{int32(i), int32(end), escaped})
	}
	i = end

more: // after a value: white space, then ',' or the end of its container
	// Most values are compact: a comma and the next key's quote.
	if i+1 < len(v) && v[i] == ',' && v[i+1] == '"' && f.object {
		i++
		goto key
	}
	for ; i < len(v) && v[i] <= ' ' && isSpace(v[i]); i++ {
	}
	if i == len(v) {
		return false
	}
	switch c = v[i]; {
	case c == ',':
		for i++; i < len(v) && v[i] <= ' ' && isSpace(v[i]); i++ {
		}
		if i == len(v) {
			return false
		}
		if f.object {
			goto key
		}
		goto value
	case c == '}' && f.object, c == ']' && !f.object:
		goto close
	}
	return false

close: // v[i] ends f; written out here, as a call would spill load's registers
	if f.many {
		if sortedDup(v, keys[f.first:], &dups); dups.hasDup {
			return false
		}
	}
	if f.top >= 0 {
		d.scanned[f.top] = scanObject
	}
	keys = keys[:f.first]
	if frames = frames[:len(frames)-1]; len(frames) == 0 {
		// Keep the stacks as grown, but not the keys of a huge value: the
		// doc lives on in the Mapper's pool. Frames are at most MaxDepth.
		d.lframes = frames
		if cap(keys) <= maxKeptKeys {
			d.lkeys = keys
		}
		i++
		return skipSpace(v[i:]) == len(v)-i
	}
	if p := &frames[len(frames)-1]; p.pend >= 0 {
		d.note(p, len(frames), slot{f.start, int32(i + 1), false})
	}
	f = &frames[len(frames)-1]
	i++
	goto more
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
		for ; j+8 <= len(v); j += 8 { // by a constant 8, as in load
			if n := optikpi.PlainPrefix8(binary.LittleEndian.Uint64(v[j:])); n < 8 {
				j += n
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

// loadLiteral reads true, false or null at v[i]; end is -1 for none.
func loadLiteral(v []byte, i int) (end int) {
	const (
		true4  = 't' | 'r'<<8 | 'u'<<16 | 'e'<<24
		null4  = 'n' | 'u'<<8 | 'l'<<16 | 'l'<<24
		false4 = 'a' | 'l'<<8 | 's'<<16 | 'e'<<24 // after the 'f'
	)
	if i+4 > len(v) {
		return -1
	}
	switch binary.LittleEndian.Uint32(v[i:]) {
	case true4, null4:
		return i + 4
	}
	if i+5 <= len(v) && v[i] == 'f' && binary.LittleEndian.Uint32(v[i+1:]) == false4 {
		return i + 5
	}
	return -1
}

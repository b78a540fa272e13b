package mapper

import (
	"bytes"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

// A value's routing and fields are read with gjson, which takes the first
// of a key given twice in one object; encoding/json and JavaScript take the
// last. So the one pass that bounds a value's depth also looks for a key
// given twice, and a value with one is refused or rewritten (lastWins)
// before it is read, by routing.duplicate_keys. The pass does little more
// per byte than the depth bound alone, so values without duplicates, nearly
// all of them, pay little for it.

// scanned is what scanValue found.
type scanned struct {
	tooDeep bool
	// dup is the text of the first key found twice in one object, as
	// written, when hasDup.
	dup    string
	hasDup bool
	// escapedKey: a key has an escape, so "a" and "\u0061" may be one key
	// that the pass, comparing keys as written, did not see twice.
	escapedKey bool
}

// frame is an open object or array of the value being scanned.
type frame struct {
	// seen has a bit per key hash (keyHash, as load's) of the
	// object's keys: a key whose bit is clear is new, without comparing it
	// with the others.
	seen  uint64
	first int32 // index in the scan's keys of the object's first key
	// many: the object has more keys than maxPairwise, so they are
	// compared all at once, sorted, when it closes.
	many   bool
	object bool
}

// span is where a key's text is in the value, without its quotes.
type span struct{ start, end int }

// maxPairwise is how many keys of one object are compared with each other
// as they come; more are sorted when the object closes, so that an object of
// many keys costs n log n, not n².
const maxPairwise = 64

// scanValue bounds v's depth by MaxDepth and looks for a key given twice in
// one object, in one pass without recursion. Over any valid prefix of v its
// string tracking agrees with a JSON parser's, so no parser that stops at
// v's first error nests deeper than what it counts. On a value that is not
// valid JSON only tooDeep means anything.
func scanValue(v []byte) (s scanned) {
	var frameBuf [16]frame
	var keyBuf [64]span
	frames, keys := frameBuf[:0], keyBuf[:0]
	wantKey := false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			j, escapes := stringEnd(v, i+1)
			if j >= len(v) {
				return s // an unclosed string: not JSON
			}
			if wantKey && !s.hasDup {
				if escapes {
					s.escapedKey = true
				}
				f := &frames[len(frames)-1]
				k := v[i+1 : j]
				bit := uint64(1) << keyHash(keyWord(k), len(k))
				if f.seen&bit != 0 || f.many {
					keys = addKey(v, f, keys, span{i + 1, j}, &s)
				} else {
					f.seen |= bit
					keys = append(keys, span{i + 1, j})
				}
			}
			wantKey = false
			i = j
		case '{', '[':
			if len(frames) == MaxDepth {
				s.tooDeep = true
				return s
			}
			frames = append(frames, frame{object: v[i] == '{', first: int32(len(keys))})
			wantKey = v[i] == '{'
		case '}', ']':
			if n := len(frames); n > 0 {
				f := &frames[n-1]
				if f.many && !s.hasDup {
					sortedDup(v, keys[f.first:], &s)
				}
				keys = keys[:f.first]
				frames = frames[:n-1]
			}
			wantKey = false
		case ',':
			wantKey = len(frames) > 0 && frames[len(frames)-1].object
		}
	}
	return s
}

// stringEnd returns the index of the quote that ends the string whose text
// starts at v[j] (len(v) or more when none does), and whether the string has
// an escape. Not inlined: in scanValue's body its loop ran some 30% slower
// (BenchmarkCheckObject), its variables no longer all in registers.
//
//go:noinline
func stringEnd(v []byte, j int) (int, bool) {
	escapes := false
	for ; j < len(v); j++ {
		switch v[j] {
		case '"':
			return j, escapes
		case '\\':
			escapes = true
			j++
		}
	}
	return j, escapes
}

// addKey adds the key k of the object f to keys when its bit in f.seen is
// set or f has many keys, noting in s whether f already has it.
func addKey(v []byte, f *frame, keys []span, k span, s *scanned) []span {
	if !f.many {
		for _, o := range keys[f.first:] {
			if bytes.Equal(v[o.start:o.end], v[k.start:k.end]) {
				s.dup, s.hasDup = string(v[k.start:k.end]), true
				return keys
			}
		}
	}
	keys = append(keys, k)
	f.many = f.many || len(keys)-int(f.first) > maxPairwise
	return keys
}

// sortedDup sorts the keys of one object and notes in s one given twice.
func sortedDup(v []byte, keys []span, s *scanned) {
	text := func(k span) []byte { return v[k.start:k.end] }
	slices.SortFunc(keys, func(a, b span) int { return bytes.Compare(text(a), text(b)) })
	for i := 1; i < len(keys); i++ {
		if bytes.Equal(text(keys[i-1]), text(keys[i])) {
			s.dup, s.hasDup = string(text(keys[i])), true
			return
		}
	}
}

// dupUnescaped returns a key given twice in one object of the valid JSON
// r, comparing keys unescaped: the check of the rare values whose keys
// have escapes. Like lastWins it reads nested values once per level.
func dupUnescaped(r gjson.Result) (string, bool) {
	var dup string
	found := false
	var seen map[string]bool
	if r.IsObject() {
		seen = map[string]bool{}
	}
	r.ForEach(func(k, val gjson.Result) bool {
		if seen != nil {
			if seen[k.Str] {
				dup, found = k.Str, true
				return false
			}
			seen[k.Str] = true
		}
		if val.IsObject() || val.IsArray() {
			dup, found = dupUnescaped(val)
		}
		return !found
	})
	return dup, found
}

// lastWins appends the valid JSON r to b with each object's keys once:
// where a key first appears, with the value it last has, as JavaScript's
// JSON.parse builds it. Only values with a duplicate key are rewritten;
// nested values are read once per level, so the cost grows with depth
// (bounded by MaxDepth) as well as size.
func lastWins(b []byte, r gjson.Result) []byte {
	switch {
	case r.IsObject():
		type member struct {
			key string // as written, quoted
			val gjson.Result
		}
		var ms []member
		at := map[string]int{}
		r.ForEach(func(k, val gjson.Result) bool {
			if i, ok := at[k.Str]; ok {
				ms[i].val = val
			} else {
				at[k.Str] = len(ms)
				ms = append(ms, member{k.Raw, val})
			}
			return true
		})
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(append(b, m.key...), ':')
			b = lastWins(b, m.val)
		}
		return append(b, '}')
	case r.IsArray():
		b = append(b, '[')
		i := 0
		r.ForEach(func(_, val gjson.Result) bool {
			if i > 0 {
				b = append(b, ',')
			}
			i++
			b = lastWins(b, val)
			return true
		})
		return append(b, ']')
	}
	return append(b, strings.TrimSpace(r.Raw)...)
}

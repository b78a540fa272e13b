package mapper

import (
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// A route reads many paths, and most share a few top-level keys
// ("profile.email", "profile.phone", …). gjson finds each path by scanning
// from the start of the value, so the plan of a topic lists the keys its
// routes read at the first and second level; the one pass that checks the
// value (load, or reset on the slow path) notes where they all are, and a
// deeper path then scans only its key's value.

// jpath is a compiled gjson path.
type jpath struct {
	full string // the path as written
	key  int    // index of its top-level key in the plan, -1 to read full from the root
	rest string // the path below that key, "" for the key itself
	sub  int    // index of its second-level key in the plan, -1 for none
	tail string // the path below that key, "" for the key itself
	// made is true when the path has a modifier, which may make a value
	// rather than find one: even one that views the record's text without
	// being valid JSON (@fromstr of "{1").
	made bool
	at   pathAt // where a value of it is read from, decided once
}

// pathAt is where doc.value reads a path's value.
type pathAt uint8

const (
	atGet pathAt = iota // doc.get
	atTop               // doc.top[key]: a top-level key alone
	atSub               // doc.sub[sub] when its top-level key's value is an object: a key below one
)

// plan is what the routes of one topic read: top-level keys, and below
// them the keys of the second level ("profile" and its "email", "phone").
type plan struct {
	keys  keyTable // the top-level keys, each with its index in names
	names []string
	kids  []*keyTable // per top-level key: its second-level keys' indexes, nil for none
	subs  int         // how many second-level keys
}

func newPlan() *plan { return &plan{} }

// keyTable is the keys a plan reads at one level, each with an index. An
// event has a few dozen short keys: hashing them by keyHash (which load
// computes anyway, for the duplicate check) and comparing their first eight
// bytes as one word finds one in a fraction of a map lookup's time.
type keyTable struct {
	head [64]int32 // per keyHash: 1 + position in keys of the last key added with it, 0 for none
	keys []keyEntry
}

type keyEntry struct {
	word uint64 // keyWord of name
	name string
	idx  int
	next int32 // head's value before it was added
}

// find returns the index of key k.
func (t *keyTable) find(k string) (int, bool) {
	w := keyWord(k)
	return t.findWord(k, w, keyHash(w, len(k)))
}

// findWord returns the index of key k, whose keyWord is w and keyHash h.
func (t *keyTable) findWord(k string, w uint64, h uint) (int, bool) {
	for e := t.head[h&63]; e != 0; {
		ke := &t.keys[e-1]
		// Equal words and lengths are equal keys of up to eight bytes.
		if ke.word == w && len(ke.name) == len(k) && (len(k) <= 8 || ke.name[8:] == k[8:]) {
			return ke.idx, true
		}
		e = ke.next
	}
	return 0, false
}

// add adds key k, not in t, with index i.
func (t *keyTable) add(k string, i int) {
	w := keyWord(k)
	h := keyHash(w, len(k)) & 63
	t.keys = append(t.keys, keyEntry{w, k, i, t.head[h]})
	t.head[h] = int32(len(t.keys))
}

// keyWord is the first eight bytes of k, little-endian, zero past its end.
func keyWord[K string | []byte](k K) uint64 {
	if len(k) >= 8 {
		return uint64(k[0]) | uint64(k[1])<<8 | uint64(k[2])<<16 | uint64(k[3])<<24 |
			uint64(k[4])<<32 | uint64(k[5])<<40 | uint64(k[6])<<48 | uint64(k[7])<<56
	}
	var w uint64
	for j := len(k) - 1; j >= 0; j-- {
		w = w<<8 | uint64(k[j])
	}
	return w
}

// keyHash is a hash of a key of length n whose keyWord is w, in 0 to 63.
func keyHash(w uint64, n int) uint {
	h, _ := keyHashes(w, n)
	return h
}

// keyHashes is keyHash and a second hash in 0 to 63, from other bits of the
// same product: two keys with both equal are rare.
func keyHashes(w uint64, n int) (h, h2 uint) {
	p := (w ^ uint64(n)) * 0x9e3779b97f4a7c15
	return uint(p >> 58), uint(p>>52) & 63
}

// plainKey returns the length of the plain key p starts with and whether
// p is that key alone or the key, a dot and more; else 0.
func plainKey(p string) int {
	end := 0
	for end < len(p) && isPlainKeyByte(p[end]) {
		end++
	}
	if end == 0 || end < len(p) && p[end] != '.' || end+1 == len(p) {
		return 0
	}
	return end
}

// path compiles p, adding its top-level key to the plan when p starts
// with a plain key, and its second-level key when a plain one follows; any
// other path (a modifier, a multipath, an escape) is read from the root as
// written.
func (pl *plan) path(p string) *jpath {
	end := plainKey(p)
	if end == 0 {
		return &jpath{full: p, key: -1, sub: -1, made: strings.IndexByte(p, '@') >= 0}
	}
	name := p[:end]
	i, ok := pl.keys.find(name)
	if !ok {
		i = len(pl.names)
		pl.keys.add(name, i)
		pl.names = append(pl.names, name)
		pl.kids = append(pl.kids, nil)
	}
	jp := &jpath{full: p, key: i, sub: -1, made: strings.IndexByte(p, '@') >= 0}
	if end == len(p) {
		jp.at = atTop
		return jp
	}
	jp.rest = p[end+1:]
	end = plainKey(jp.rest)
	if end == 0 {
		return jp
	}
	name = jp.rest[:end]
	if pl.kids[i] == nil {
		pl.kids[i] = new(keyTable)
	}
	j, ok := pl.kids[i].find(name)
	if !ok {
		j = pl.subs
		pl.kids[i].add(name, j)
		pl.subs++
	}
	jp.sub = j
	if end < len(jp.rest) {
		jp.tail = jp.rest[end+1:]
	} else {
		jp.at = atSub
	}
	return jp
}

func isPlainKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// doc is one record being mapped: its value and where in it are the
// values its topic's plan reads.
type doc struct {
	rec *kgo.Record
	// s views rec.Value without a copy: values read from it alias the
	// record, so whatever outlives Map is copied (optikpi.Builder.Encode
	// copies into the Encoded).
	s   string
	pl  *plan
	top []slot
	// sub holds the second-level values of the top-level objects scanned
	// so far (scanned[i] says which).
	sub     []slot
	scanned []uint8
	// arena holds the text that transforms make for this record: Values
	// view it, and Map copies them out (optikpi.Builder.Encode) before the
	// doc is reset and the arena reused. Growing it leaves earlier views
	// on the old array, which stays alive while they do.
	arena []byte
	ex    exprState // for expressions only (expr.go)
	// load's stacks of open containers and of their keys, kept from
	// record to record.
	lframes []lframe
	lkeys   []span
}

// slot is where a value is in the doc's value, s[start:end]; end is 0 for
// none. Slots hold no pointer, so noting and clearing them is plain
// stores, without the GC's write barriers that gjson Results would cost;
// a Result is made only for a value read as one (result).
type slot struct {
	start, end int32 // a Kafka record is smaller than 2 GiB
	escaped    bool  // a string with an escape
}

func (sl slot) exists() bool { return sl.end != 0 }

// slotOf is the slot of r, a value gjson read from d.s: its Raw is a part
// of d.s.
func (d *doc) slotOf(r gjson.Result) slot {
	start := int32(uintptr(unsafe.Pointer(unsafe.StringData(r.Raw))) - uintptr(unsafe.Pointer(unsafe.StringData(d.s))))
	return slot{start, start + int32(len(r.Raw)), r.Type == gjson.String && strings.IndexByte(r.Raw, '\\') >= 0}
}

// result is the gjson.Result of the value at sl, as gjson would read it.
func (d *doc) result(sl slot) gjson.Result {
	if !sl.exists() {
		return gjson.Result{}
	}
	raw := d.s[sl.start:sl.end]
	r := gjson.Result{Raw: raw, Index: int(sl.start)}
	switch raw[0] {
	case '"':
		if sl.escaped {
			r = gjson.Parse(raw) // unescapes; rare
			r.Index = int(sl.start)
			return r
		}
		r.Type, r.Str = gjson.String, raw[1:len(raw)-1]
	case 't':
		r.Type = gjson.True
	case 'f':
		r.Type = gjson.False
	case 'n':
		r.Type = gjson.Null
	case '{', '[':
		r.Type = gjson.JSON
	default:
		r.Type = gjson.Number
		r.Num, _ = strconv.ParseFloat(raw, 64)
	}
	return r
}

// keep copies b into d's arena.
func (d *doc) keep(b []byte) string {
	start := len(d.arena)
	d.arena = append(d.arena, b...)
	return d.text(start)
}

// text returns what was appended to d.arena from start on, as a string
// that lives until d is reset.
func (d *doc) text(start int) string {
	if start == len(d.arena) {
		return ""
	}
	return unsafe.String(&d.arena[start], len(d.arena)-start)
}

// What doc.scanned says of a top-level key's value. load finds them all in
// its one pass, so the zero value is one it leaves as it is.
const (
	scanNone    uint8 = iota // not an object, or not there
	scanObject               // an object, its second-level keys noted in sub
	scanPending              // not looked at yet
)

// size makes d's slots those of pl, each empty, and marks every top-level
// key scanNone.
func (d *doc) size(pl *plan) {
	d.top = slices.Grow(d.top, len(pl.names))[:len(pl.names)]
	clear(d.top)
	d.sub = slices.Grow(d.sub, pl.subs)[:pl.subs]
	clear(d.sub)
	d.scanned = slices.Grow(d.scanned, len(pl.names))[:len(pl.names)]
	clear(d.scanned)
}

// start makes d the doc of rec, reusing its memory, with an empty slot
// for each key of pl; a nil rec empties it. It is reset without reading
// the value, which load does in its own pass.
func (d *doc) start(rec *kgo.Record, pl *plan) {
	d.rec, d.s, d.pl, d.arena = rec, "", pl, d.arena[:0]
	if d.ex.m != nil {
		d.ex = exprState{} // only a record that ran an expression set it
	}
	if rec != nil {
		d.s = unsafe.String(unsafe.SliceData(rec.Value), len(rec.Value))
	}
	if rec == nil || pl == nil {
		d.top, d.sub, d.scanned = d.top[:0], d.sub[:0], d.scanned[:0]
		return
	}
	d.size(pl)
}

// reset makes d the doc of rec, reusing its memory; a nil rec empties it.
func (d *doc) reset(rec *kgo.Record, pl *plan) *doc {
	if d.start(rec, pl); rec == nil || pl == nil || len(pl.names) == 0 {
		return d
	}
	for i := range d.scanned {
		d.scanned[i] = scanPending
	}
	left := len(pl.names)
	gjson.Parse(d.s).ForEach(func(k, v gjson.Result) bool {
		if i, ok := pl.keys.find(k.Str); ok && !d.top[i].exists() {
			d.top[i] = d.slotOf(v)
			left--
		}
		return left > 0
	})
	return d
}

// get reads p: gjson.Get(value, p.full), faster.
func (d *doc) get(p *jpath) gjson.Result {
	if p.key < 0 {
		return gjson.Get(d.s, p.full)
	}
	sl := d.top[p.key]
	if p.rest == "" || !sl.exists() {
		return d.result(sl)
	}
	if p.sub < 0 || !d.scan(p.key) {
		return gjson.Get(d.s[sl.start:sl.end], p.rest)
	}
	sl = d.sub[p.sub]
	if p.tail == "" || !sl.exists() {
		return d.result(sl)
	}
	return gjson.Get(d.s[sl.start:sl.end], p.tail)
}

// scan finds, in one pass, the second-level keys the plan reads below the
// top-level key i, and reports whether its value is an object (if not,
// gjson reads the path: "0" of an array is its first element). As at the
// top level, a key given twice is read at its first occurrence.
func (d *doc) scan(i int) bool {
	switch d.scanned[i] {
	case scanObject:
		return true
	case scanNone:
		return false
	}
	sl := d.top[i]
	if !sl.exists() || d.s[sl.start] != '{' {
		d.scanned[i] = scanNone
		return false
	}
	d.scanned[i] = scanObject
	kids := d.pl.kids[i]
	if kids == nil {
		return true
	}
	left := len(kids.keys)
	d.result(sl).ForEach(func(k, v gjson.Result) bool {
		if j, ok := kids.find(k.Str); ok && !d.sub[j].exists() {
			d.sub[j] = d.slotOf(v)
			left--
		}
		return left > 0
	})
	return true
}

// value reads p as a record value, false when it is missing or null:
// recordValue of present, straight from the plan's slot when p has one.
func (d *doc) value(p *jpath) (optikpi.Value, bool) { return d.read(p, false) }

// read is value, and with mark fromValue: it marks what it reads Plain
// when it is JSON or a number that views d's value, not made by a
// modifier. One function, not one for the slots and one for get: the call
// between them cost more than the reading.
func (d *doc) read(p *jpath, mark bool) (optikpi.Value, bool) {
	var sl slot
	switch p.at {
	case atTop:
		sl = d.top[p.key]
	case atSub:
		if d.top[p.key].exists() && d.scan(p.key) {
			sl = d.sub[p.sub]
			break
		}
		fallthrough
	default:
		r := d.get(p)
		if !r.Exists() || r.Type == gjson.Null {
			return optikpi.Value{}, false
		}
		v := recordValue(&r)
		if mark && (v.Type == optikpi.ValueJSON || v.Type == optikpi.ValueNumber) && !p.made && within(v.Text, d.s) {
			v.Plain = true
		}
		return v, true
	}
	if !sl.exists() {
		return optikpi.Value{}, false
	}
	// A slot views d's value, and a path with one has no modifier.
	raw := d.s[sl.start:sl.end]
	switch raw[0] {
	case '"':
		if sl.escaped {
			return optikpi.String(gjson.Parse(raw).Str), true
		}
		return optikpi.Value{Type: optikpi.ValueString, Text: raw[1 : len(raw)-1], Plain: true}, true
	case 't':
		return optikpi.Bool(true), true
	case 'f':
		return optikpi.Bool(false), true
	case 'n':
		return optikpi.Value{}, false
	case '{', '[':
		return optikpi.Value{Type: optikpi.ValueJSON, Text: raw, Plain: mark}, true
	}
	return optikpi.Value{Type: optikpi.ValueNumber, Text: raw, Plain: mark}, true
}

// present reads p and reports whether it holds a value other than null.
func (d *doc) present(p *jpath) (gjson.Result, bool) {
	r := d.get(p)
	return r, r.Exists() && r.Type != gjson.Null
}

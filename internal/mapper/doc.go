package mapper

import (
	"slices"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A route reads many paths, and most share a few top-level keys
// ("profile.email", "profile.phone", …). gjson finds each path by scanning
// from the start of the value, so the plan of a topic lists the top-level
// keys its routes read; one pass over the value finds them all, and each
// path then scans only its key's value.

// jpath is a compiled gjson path.
type jpath struct {
	full string // the path as written
	key  int    // index of its top-level key in the plan, -1 to read full from the root
	rest string // the path below that key, "" for the key itself
}

// plan is what the routes of one topic read.
type plan struct {
	keys  map[string]int
	names []string
}

func newPlan() *plan { return &plan{keys: map[string]int{}} }

// path compiles p, adding its top-level key to the plan when p starts
// with a plain key; any other path (a modifier, a multipath, an escape)
// is read from the root as written.
func (pl *plan) path(p string) *jpath {
	end := 0
	for end < len(p) && isPlainKeyByte(p[end]) {
		end++
	}
	if end == 0 || end < len(p) && p[end] != '.' || end+1 == len(p) {
		return &jpath{full: p, key: -1}
	}
	name := p[:end]
	i, ok := pl.keys[name]
	if !ok {
		i = len(pl.names)
		pl.keys[name] = i
		pl.names = append(pl.names, name)
	}
	rest := ""
	if end < len(p) {
		rest = p[end+1:]
	}
	return &jpath{full: p, key: i, rest: rest}
}

func isPlainKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// doc is one record being mapped: its value and the top-level values its
// topic's plan reads.
type doc struct {
	rec *kgo.Record
	// s views rec.Value without a copy: values read from it alias the
	// record, so whatever outlives Map is copied (optikpi.Builder.Encode
	// copies into the Encoded).
	s   string
	top []gjson.Result
	// arena holds the text that transforms make for this record: Values
	// view it, and Map copies them out (optikpi.Builder.Encode) before the
	// doc is reset and the arena reused. Growing it leaves earlier views
	// on the old array, which stays alive while they do.
	arena []byte
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

// newDoc finds the plan's top-level keys in one pass; v must be a valid
// JSON object.
func newDoc(rec *kgo.Record, pl *plan) *doc {
	return new(doc).reset(rec, pl)
}

// reset makes d the doc of rec, reusing its memory; a nil rec empties it.
func (d *doc) reset(rec *kgo.Record, pl *plan) *doc {
	clear(d.top)
	d.rec, d.s, d.top, d.arena = rec, "", d.top[:0], d.arena[:0]
	if rec == nil {
		return d
	}
	d.s = unsafe.String(unsafe.SliceData(rec.Value), len(rec.Value))
	if pl == nil || len(pl.names) == 0 {
		return d
	}
	d.top = slices.Grow(d.top, len(pl.names))[:len(pl.names)]
	clear(d.top)
	left := len(pl.names)
	gjson.Parse(d.s).ForEach(func(k, v gjson.Result) bool {
		if i, ok := pl.keys[k.Str]; ok && !d.top[i].Exists() {
			d.top[i] = v
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
	r := d.top[p.key]
	if p.rest == "" || !r.Exists() {
		return r
	}
	return gjson.Get(r.Raw, p.rest)
}

// present reads p and reports whether it holds a value other than null.
func (d *doc) present(p *jpath) (gjson.Result, bool) {
	r := d.get(p)
	return r, r.Exists() && r.Type != gjson.Null
}

package optikpi

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// ValueType is the JSON type of a Value.
type ValueType uint8

// The types of a Value; the zero Value is null.
const (
	ValueNull   ValueType = iota
	ValueString           // Text is the string's content
	ValueNumber           // Text is a JSON number, as in a json.Number
	ValueTrue
	ValueFalse
	ValueJSON // Text is JSON, as in a json.RawMessage
)

// Value is one field value as a mapper reads it from JSON: the values of a
// Record that are not Go maps, without boxing them into an any.
type Value struct {
	Type ValueType
	// Plain promises, of a string, that Text holds nothing JSON escapes:
	// no '"', '\\', control character or invalid UTF-8, as the text between
	// the quotes of a valid JSON string without escapes. The encoder then
	// copies it as it is. A Value made from a string sets it false.
	// Of JSON, it promises that Text is one valid JSON value without white
	// space around it, as a value read from a checked record
	// is: validation then takes it as valid without a look.
	// Of a number, it promises that Text is in JSON's grammar, as a number
	// read from a checked record is: validation then reads only its sign.
	Plain bool
	// DateTime promises, of a string, that Text is a date-time as
	// AppendDateTime writes it (so Plain too): validation of a date-time
	// field then takes it without reading it again. A Value made from a
	// string sets it false.
	DateTime bool
	Text     string
}

// String returns the Value of a string.
func String(s string) Value { return Value{Type: ValueString, Text: s} }

// MarkPlain returns v with Plain set when v is a string that holds nothing
// JSON escapes: for a constant, checked once rather than at every encoding.
func MarkPlain(v Value) Value {
	if v.Type == ValueString {
		v.Plain = plainText(v.Text)
	}
	return v
}

// plainText reports whether s holds nothing JSON escapes: no '"', '\\' or
// control character, and valid UTF-8.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.ValidString(s)
}

// Bool returns the Value of a boolean.
func Bool(b bool) Value {
	if b {
		return Value{Type: ValueTrue}
	}
	return Value{Type: ValueFalse}
}

// ValueOf converts a Record value held as a string, json.Number, bool, nil
// or json.RawMessage; ok is false for any other type.
func ValueOf(v any) (_ Value, ok bool) {
	switch x := v.(type) {
	case nil:
		return Value{}, true
	case string:
		return String(x), true
	case json.Number:
		return Value{Type: ValueNumber, Text: string(x)}, true
	case bool:
		return Bool(x), true
	case json.RawMessage:
		return Value{Type: ValueJSON, Text: string(x)}, true
	}
	return Value{}, false
}

// Any returns v as a Record value: string, json.Number, bool, nil or
// json.RawMessage.
func (v Value) Any() any {
	switch v.Type {
	case ValueString:
		return v.Text
	case ValueNumber:
		return json.Number(v.Text)
	case ValueTrue:
		return true
	case ValueFalse:
		return false
	case ValueJSON:
		return json.RawMessage(v.Text)
	}
	return nil
}

// rawBytes views s as bytes for reading only.
func rawBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// check is checkField for v, without boxing it.
func (v *Value) check(f *Field, strict bool, category string) string {
	switch v.Type {
	case ValueString:
		return v.checkString(f, strict, category)
	case ValueNumber:
		if f.Type != TypeNumber && f.Type != TypeInteger {
			break
		}
		var sign int
		var issue string
		if v.Plain {
			sign, issue = jsonNumberSign(v.Text, f.Type == TypeInteger)
		} else {
			sign, issue = numberSign(v.Text, f.Type == TypeInteger)
		}
		if issue != "" {
			return issue
		}
		return checkSign(f, sign, strict)
	case ValueTrue, ValueFalse:
		if f.Type == TypeBoolean {
			return ""
		}
	case ValueJSON:
		if f.Type == TypeJSON && (v.Plain && v.Text != "" && v.Text[0] == '{' || isJSONRaw(rawBytes(v.Text))) {
			return ""
		}
	default:
		return checkNull(f, strict)
	}
	return typeIssue[f.Type]
}

// checkString is check for a string v.
func (v *Value) checkString(f *Field, strict bool, category string) string {
	if v.DateTime && f.Type == TypeDateTime {
		return "" // isDateTime holds of what AppendDateTime writes
	}
	return checkString(f, v.Text, strict, category)
}

// appendString is appendChecked for a string v.
func (v *Value) appendString(dst []byte) []byte {
	if v.Plain {
		return append(append(append(dst, '"'), v.Text...), '"')
	}
	return appendString(dst, v.Text)
}

// appendJSON is appendValue for v.
func (v *Value) appendJSON(dst []byte) ([]byte, error) {
	switch v.Type {
	case ValueNumber:
		return appendNumber(dst, v.Text)
	case ValueJSON:
		return appendRaw(dst, rawBytes(v.Text))
	}
	return v.appendChecked(dst), nil // strings, booleans and null cannot fail
}

// appendChecked is appendJSON for a value that check passed for a table
// field: check has found its number or its JSON valid already.
func (v *Value) appendChecked(dst []byte) []byte {
	switch v.Type {
	case ValueString:
		return v.appendString(dst)
	case ValueNumber:
		return append(dst, v.Text...)
	case ValueJSON:
		return appendCompact(dst, rawBytes(v.Text))
	case ValueTrue:
		return append(dst, "true"...)
	case ValueFalse:
		return append(dst, "false"...)
	}
	return append(dst, "null"...)
}

// Builder assembles one record of a kind field by field and encodes it in
// the model's order, checking each field as it writes it: what Encode does
// with a Record, without the map and without boxing. A Builder is reused
// record after record (Reset) and is not safe for concurrent use.
type Builder struct {
	kind   Kind
	m      *model
	set    [maxFields / 64]uint64
	vals   [maxFields]Value
	extras []namedValue
	buf    []byte // what Encode writes into before the Encoded's own copy
}

type namedValue struct {
	name string
	v    Value
}

// FieldIndex returns the position of k's field named name in Fields, for
// Builder.Set.
func (k Kind) FieldIndex(name string) (int, bool) {
	if !k.Valid() {
		return 0, false
	}
	i, ok := models[k].index[name]
	return i, ok
}

// Reset empties b for a record of kind k. It drops the values set before,
// which may view a record's value: a Builder kept for reuse holds no record
// alive.
func (b *Builder) Reset(k Kind) {
	// Up to the last field set in one clear: cheaper than value by value,
	// each a store of a pointer.
	for w := len(b.set) - 1; w >= 0; w-- {
		if word := b.set[w]; word != 0 {
			clear(b.vals[:w*64+64-bits.LeadingZeros64(word)])
			break
		}
	}
	clear(b.extras)
	b.kind, b.set, b.extras = k, [maxFields / 64]uint64{}, b.extras[:0]
	b.m = nil
	if k.Valid() {
		b.m = &models[k]
	}
}

// Set sets the field at position i of the kind's Fields (FieldIndex).
func (b *Builder) Set(i int, v Value) {
	b.set[uint(i)/64] |= 1 << (uint(i) % 64)
	b.vals[i] = v
}

// Get returns the field at position i, if set.
func (b *Builder) Get(i int) (Value, bool) {
	if b.set[uint(i)/64]&(1<<(uint(i)%64)) == 0 {
		return Value{}, false
	}
	return b.vals[i], true
}

// SetExtra sets a field outside the kind's table; like every such field of
// a Record it is encoded after the table's, by name, and not validated.
func (b *Builder) SetExtra(name string, v Value) {
	for i := range b.extras {
		if b.extras[i].name == name {
			b.extras[i].v = v
			return
		}
	}
	b.extras = append(b.extras, namedValue{name, v})
}

// Encode validates and encodes the record as Encode would the Record of the
// same fields: the same bytes, the same *ValidationError. The Encoded owns
// its memory alone (Encoded.Alone): nothing in it aliases the values set,
// and keeping it keeps nothing else alive, so a queue need not copy it.
func (b *Builder) Encode(opts ValidateOptions) (Encoded, error) {
	if b.m == nil {
		return Encoded{}, fmt.Errorf("optikpi: validate: invalid kind %d", uint8(b.kind))
	}
	m, category := b.m, b.kind.EventCategory()
	strict := opts.rules()
	// Only the fields set are visited, in table order; a required field
	// missing before one of them is the first problem, so the fields
	// after it are not visited at all.
	set, missing := b.set, maxFields
	for w := range set {
		if word := m.requiredSet[strict][w] &^ set[w]; word != 0 {
			missing = w*64 + bits.TrailingZeros64(word)
			set[w] &= word&-word - 1
			clear(set[w+1:])
			break
		}
	}
	// Every field is written after a comma (keys start with one), and the
	// first comma becomes the '{' at the end.
	dst := b.buf[:0]
	for w, word := range set {
		for ; word != 0; word &= word - 1 {
			// Below maxFields: the mask only spares the bounds checks.
			i := (w*64 + bits.TrailingZeros64(word)) & (maxFields - 1)
			// check, and appendChecked when it passes: a string, as most
			// fields are, without a second switch on the type, and checked
			// only as far as its field needs (strCheck).
			v, e := &b.vals[i], &m.enc[i]
			// The key and a quote first, whatever the value: a short key
			// is written as one array into dst's spare capacity when dst
			// has room for it (the padding lies where the value goes
			// next), not by a call to copy a few bytes.
			if n := len(dst); e.short && cap(dst)-n >= qpadLen {
				*(*[qpadLen]byte)(dst[n : n+qpadLen]) = e.qpad
				dst = dst[:n+len(e.qkey)]
			} else {
				dst = append(dst, e.qkey...)
			}
			if v.Type != ValueString {
				if issue := v.check(e.f, opts.Strict, category); issue != "" {
					return Encoded{}, e.invalid(issue)
				}
				dst = v.appendChecked(dst[:len(dst)-1])
				continue
			}
			switch e.str[strict] {
			case strNonEmpty:
				if v.Text == "" {
					return Encoded{}, e.invalid(issueEmpty)
				}
			case strFull:
				if issue := v.checkString(e.f, opts.Strict, category); issue != "" {
					return Encoded{}, e.invalid(issue)
				}
			}
			if v.Plain {
				dst = append(append(dst, v.Text...), '"')
			} else {
				dst = appendString(dst[:len(dst)-1], v.Text)
			}
		}
	}
	if missing < maxFields {
		return Encoded{}, &ValidationError{Field: m.fields[missing].Name, Issue: issueMissing}
	}
	if len(b.extras) > 1 {
		sortByName(b.extras)
	}
	var err error
	for i := range b.extras {
		e := &b.extras[i]
		dst = append(appendString(append(dst, ','), e.name), ':')
		if dst, err = e.v.appendJSON(dst); err != nil {
			return Encoded{}, &ValidationError{Field: e.name, Issue: err.Error()}
		}
	}
	if len(dst) == 0 {
		dst = append(dst, '{')
	} else {
		dst[0] = '{'
	}
	dst = append(dst, '}')
	n := len(dst)

	// The ids follow the JSON, in the same memory.
	uid, eid := b.text(m.userID), b.text(m.eventID)
	dst = append(append(dst, uid...), eid...)
	if cap(dst) <= keepBuf {
		b.buf = dst[:0]
	} else {
		b.buf = nil // one huge record must not pin its size in every pooled Builder
	}
	// One allocation the size of the encoding, not zeroed first: cheaper
	// than cutting it from a shared block that a queue would then copy it
	// out of, lest a record waiting there keep the block's others alive.
	// (make and copy, which Go compiles to one allocation left unzeroed.)
	out := make([]byte, len(dst))
	copy(out, dst)
	return encodedAlone(b.kind, out, n, len(uid), len(eid)), nil
}

// encodedIn is the encoding of kind whose JSON is out's first n bytes,
// followed in out by its user id and event id, of lengths nu and ne.
func encodedIn(kind Kind, out []byte, n, nu, ne int) Encoded {
	enc := Encoded{Kind: kind, JSON: out[:n:n]}
	if nu > 0 {
		enc.UserID = unsafe.String(&out[n], nu)
	}
	if ne > 0 {
		enc.EventID = unsafe.String(&out[n+nu], ne)
	}
	return enc
}

// keepBuf is the largest buffer a Builder keeps for the next record: an
// encoding is a few KiB at most but for a rare huge one.
const keepBuf = 64 << 10

// encodedAlone is encodedIn for out made for this encoding alone.
func encodedAlone(kind Kind, out []byte, n, nu, ne int) Encoded {
	enc := encodedIn(kind, out, n, nu, ne)
	enc.mem = unsafe.SliceData(out)
	return enc
}

// A Block's blocks are encodeBlock bytes: one allocation for some 35
// deposits. A block with less than encodeRoom left is left for a new one.
const (
	encodeBlock = 16 << 10
	encodeRoom  = 2 << 10
)

// Block copies encodings that may share memory with others into blocks of
// its own. Encode and Builder.Encode make none (theirs are Alone); an
// Encoded made by hand may view any memory, and pins all of it, so
// encodings that finish at different times must not share it: a record
// that waits, sparse among records that finish at once, would pin a buffer
// each, memory bounded by the records waiting rather than by their bytes.
// A sink keeps a Block per queue and copies what it queues into it, unless
// the encoding is Alone: a queue's block is shared by records that leave
// the queue together. The zero Block is ready; it is not safe for
// concurrent use.
type Block struct {
	free []byte // the free part of the current block
}

// Copy returns e in memory of b: the same bytes and ids, aliasing nothing
// of e. An encoding larger than encodeRoom gets an allocation of its own;
// one that is Alone, or larger than a block, is returned as it is: the
// latter, made by hand, keeps whatever memory it views.
func (b *Block) Copy(e Encoded) Encoded {
	if e.Alone() {
		return e
	}
	n := len(e.JSON) + len(e.UserID) + len(e.EventID)
	if n > encodeBlock {
		return e
	}
	var out []byte
	if n > encodeRoom {
		out = make([]byte, 0, n)
	} else {
		if len(b.free) < n {
			b.free = make([]byte, encodeBlock)
		}
		out = b.free[:0:n]
		b.free = b.free[n:]
	}
	out = append(append(append(out, e.JSON...), e.UserID...), e.EventID...)
	return encodedIn(e.Kind, out, len(e.JSON), len(e.UserID), len(e.EventID))
}

// text is the string at position i, "" when i < 0 or it holds no string.
func (b *Builder) text(i int) string {
	if i < 0 {
		return ""
	}
	if v, ok := b.Get(i); ok && v.Type == ValueString {
		return v.Text
	}
	return ""
}

// sortByName is an insertion sort: a record has a few extra fields at most.
func sortByName(vs []namedValue) {
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && strings.Compare(vs[j-1].name, vs[j].name) > 0; j-- {
			vs[j-1], vs[j] = vs[j], vs[j-1]
		}
	}
}

package optikpi

import (
	"bytes"
	"cmp"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// The encoder as it was before its per-field string checks, padded keys,
// masked fields and digits-only integers (17b7a8f): the reference the
// faster one must match byte for byte and issue for issue.

func plainSignOld(s string) (sign int, ok bool) {
	if len(s) >= 300 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'e' || c == 'E':
			return 0, false
		case '1' <= c && c <= '9':
			sign = 1
		}
	}
	if s[0] == '-' {
		sign = -sign
	}
	return sign, true
}

func jsonNumberSignOld(s string, integer bool) (int, string) {
	sign, ok := plainSignOld(s)
	if !ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, issueFinite
		}
		sign = cmp.Compare(f, 0)
	}
	if integer && !isIntegralText(s) {
		return 0, issueInteger
	}
	return sign, ""
}

func (v *Value) checkOld(f *Field, strict bool, category string) string {
	if v.Type == ValueNumber && (f.Type == TypeNumber || f.Type == TypeInteger) {
		var sign int
		var issue string
		if v.Plain {
			sign, issue = jsonNumberSignOld(v.Text, f.Type == TypeInteger)
		} else if !IsJSONNumber(v.Text) {
			return issueNumber
		} else {
			sign, issue = jsonNumberSignOld(v.Text, f.Type == TypeInteger)
		}
		if issue != "" {
			return issue
		}
		return checkSign(f, sign, strict)
	}
	return v.check(f, strict, category)
}

func (b *Builder) encodeOld(opts ValidateOptions) ([]byte, error) {
	m, category := b.m, b.kind.EventCategory()
	strict := opts.rules()
	missing := maxFields
	for w := range b.set {
		if word := m.requiredSet[strict][w] &^ b.set[w]; word != 0 {
			missing = w*64 + bits.TrailingZeros64(word)
			break
		}
	}
	var dst []byte
	for w, word := range b.set {
		for ; word != 0; word &= word - 1 {
			i := w*64 + bits.TrailingZeros64(word)
			if missing < i {
				return nil, &ValidationError{Field: m.fields[missing].Name, Issue: issueMissing}
			}
			v, f := &b.vals[i], &m.fields[i]
			dst = append(dst, m.enc[i].key()...)
			var issue string
			if v.Type == ValueString {
				if issue = v.checkString(f, opts.Strict, category); issue == "" {
					dst = v.appendString(dst)
				}
			} else if issue = v.checkOld(f, opts.Strict, category); issue == "" {
				dst = v.appendChecked(dst)
			}
			if issue != "" {
				return nil, &ValidationError{Field: f.Name, Issue: issue}
			}
		}
	}
	if missing < maxFields {
		return nil, &ValidationError{Field: m.fields[missing].Name, Issue: issueMissing}
	}
	if len(b.extras) > 1 {
		sortByName(b.extras)
	}
	var err error
	for i := range b.extras {
		e := &b.extras[i]
		dst = append(appendString(append(dst, ','), e.name), ':')
		if dst, err = e.v.appendJSON(dst); err != nil {
			return nil, &ValidationError{Field: e.name, Issue: err.Error()}
		}
	}
	if len(dst) == 0 {
		dst = append(dst, '{')
	} else {
		dst[0] = '{'
	}
	return append(dst, '}'), nil
}

var hostileNumbers = []string{
	"0", "-0", "1", "-1", "7", "10", "-10", "100000000000000000000", "0.0", "-0.0", "1.0", "1.5", "-1.5",
	"1e5", "1E5", "1e-5", "-1e-5", "1.5e1", "15e-1", "0e0", "0e-999999", "1e400", "-1e400", "1e-400",
	"1e99999999999999999999", "1e-99999999999999999999", "9007199254740993", "-9223372036854775809",
	"1.00000000000000000000000000000001", "0.1e1", "2.50e1", "-0e5",
	"1" + strings.Repeat("0", 298), "1" + strings.Repeat("0", 299), "1" + strings.Repeat("0", 308),
	"1" + strings.Repeat("0", 400), "-1" + strings.Repeat("0", 400), strings.Repeat("9", 299),
	"0." + strings.Repeat("0", 320) + "1", "0." + strings.Repeat("0", 298) + "1",
	strings.Repeat("1", 299) + ".5", "-" + strings.Repeat("1", 298) + ".0",
	// not JSON numbers: only ever unmarked
	"007", "+1", "1.", ".5", "1e", "--1", "1-", "NaN", "Infinity", "0x10", "1_000", " 1", "",
}

var hostileStrings = []string{
	"", "x", " ", "Deposit", "deposit", "Account", "Gaming Activity", "SystemEvent", "Custom Event",
	"USD", "usd", "US", "USDX", "Male", "Female", "bonus", "pending", "list_1", "bad list", "a-b_c",
	"2024-01-15T10:30:00Z", "2024-01-15T10:30:00.5Z", "2024-02-30T10:30:00Z", "2024-01-15", "2024-13-01",
	"a@b.co", "not an email", `{"a":1}`, "{}", "[1]", "{", "ünïcödé", "日本語", "\x00", "\n", `"`, `\`,
	"\xff\xfe", "\u2028", strings.Repeat("k", 40), strings.Repeat("é", 33), "1", "-1", "1.5", "true", "null",
}

func hostileValue(rng *rand.Rand, fuzz string) Value {
	var v Value
	switch rng.IntN(9) {
	case 0:
		v = Value{}
	case 1, 2, 3:
		v = String(hostileStrings[rng.IntN(len(hostileStrings))])
	case 4:
		v = String(fuzz)
	case 5:
		v = Value{Type: ValueNumber, Text: hostileNumbers[rng.IntN(len(hostileNumbers))]}
	case 6:
		if IsJSONNumber(fuzz) {
			v = Value{Type: ValueNumber, Text: fuzz}
		} else {
			v = Value{Type: ValueJSON, Text: fuzz}
		}
	case 7:
		v = Bool(rng.IntN(2) == 0)
	case 8:
		raws := []string{"{}", `{"a":[1,2]}`, "[]", "[1, 2]", `{ "a" : 1 }`, "{", "1", `"s"`, "null", ""}
		v = Value{Type: ValueJSON, Text: raws[rng.IntN(len(raws))]}
	}
	// Mark only what the promise holds of, as a mapper would.
	switch v.Type {
	case ValueString:
		if rng.IntN(2) == 0 {
			v = MarkPlain(v)
			if v.Plain && isDateTime(v.Text) {
				if b, ok := AppendDateTime(nil, mustTime(v.Text)); ok && string(b) == v.Text {
					v.DateTime = true
				}
			}
		}
	case ValueNumber:
		v.Plain = IsJSONNumber(v.Text) && rng.IntN(2) == 0
	case ValueJSON:
		v.Plain = isJSONRaw([]byte(v.Text)) && !strings.ContainsAny(v.Text, " \t\r\n") && rng.IntN(2) == 0
	}
	return v
}

// diffBuilder fills b from seed and fuzz with hostile values for k's
// fields, a good sample's otherwise, and compares Encode with encodeOld.
func diffBuilder(t *testing.T, b *Builder, seed uint64, fuzz string) {
	rng := rand.New(rand.NewPCG(seed, seed>>32^0x9e37))
	all := samples()
	k := Kind(1 + rng.IntN(len(tables)-1))
	if !k.Valid() {
		return
	}
	sample := all[k]
	o := modes[rng.IntN(2)]
	// A buffer of any capacity, inside a larger one whose tail must stay
	// as it is: the padded keys write into spare capacity, never past it.
	c := rng.IntN(400)
	parent := bytes.Repeat([]byte{0xA5}, c+64)
	b.Reset(k)
	b.buf = parent[:0:c]
	p := rng.IntN(6)
	for i, f := range k.Fields() {
		switch r := rng.IntN(8); {
		case r < p:
			b.Set(i, hostileValue(rng, fuzz))
		case r == 7 && rng.IntN(3) == 0:
			// missing
		default:
			if sv, ok := sample[f.Name]; ok {
				if _, obj := sv.(map[string]any); obj {
					b.Set(i, Value{Type: ValueJSON, Text: `{"a":1}`})
				} else if val, ok := ValueOf(sv); ok {
					b.Set(i, val)
				}
			}
		}
	}
	if rng.IntN(3) == 0 {
		b.SetExtra("zz_"+strconv.Itoa(rng.IntN(3)), hostileValue(rng, fuzz))
	}
	if rng.IntN(4) == 0 {
		b.SetExtra(fuzz, String("x"))
	}
	ref := *b
	ref.extras = append([]namedValue(nil), b.extras...)
	want, wantErr := ref.encodeOld(o)
	got, gotErr := b.Encode(o)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !bytes.Equal(got.JSON, want) {
		t.Fatalf("%s strict=%v cap=%d:\ngot  %q %v\nwant %q %v", k, o.Strict, c, got.JSON, gotErr, want, wantErr)
	}
	for j := c; j < len(parent); j++ {
		if parent[j] != 0xA5 {
			t.Fatalf("%s: byte %d past the buffer's capacity %d written", k, j, c)
		}
	}
}

func TestBuilderMatchesOldEncode(t *testing.T) {
	var b Builder
	fuzz := []string{"", "5", "-0", "1e2", "x", `{"a":1}`, "ñ", strings.Repeat("z", 35)}
	for seed := range uint64(20000) {
		diffBuilder(t, &b, seed, fuzz[seed%uint64(len(fuzz))])
	}
}

func FuzzBuilderMatchesOldEncode(f *testing.F) {
	f.Add(uint64(1), "")
	f.Add(uint64(2), "12")
	f.Add(uint64(3), "1.5e3")
	f.Add(uint64(4), "Deposit")
	var b Builder
	f.Fuzz(func(t *testing.T, seed uint64, s string) { diffBuilder(t, &b, seed, s) })
}

func FuzzJSONNumberSignMatchesOld(f *testing.F) {
	for _, s := range hostileNumbers {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !IsJSONNumber(s) {
			return
		}
		for _, integer := range []bool{false, true} {
			gs, gi := jsonNumberSign(s, integer)
			ws, wi := jsonNumberSignOld(s, integer)
			if gs != ws || gi != wi {
				t.Fatalf("%q integer=%v: got %d %q, want %d %q", s, integer, gs, gi, ws, wi)
			}
		}
	})
}

// TestBuilderFieldOutsideModel: a position past the kind's fields (one of
// another kind's, against Set's contract) stops Encode as an index out of
// range always did, rather than writing the value without a key: invalid
// JSON for the API and a record lost as its rejection.
func TestBuilderFieldOutsideModel(t *testing.T) {
	for _, v := range []Value{MarkPlain(String("x")), String("y"), {Type: ValueNumber, Text: "1"}} {
		for _, o := range modes {
			b := builderOf(t, KindAccount, samples()[KindAccount])
			b.Set(len(KindAccount.Fields())+2, v)
			func() {
				defer func() { recover() }()
				got, err := b.Encode(o)
				if err == nil {
					t.Errorf("%+v strict=%v: got %s, want a panic or an error", v, o.Strict, got.JSON)
				}
			}()
		}
	}
}

// TestBuilderEveryBufferBoundary encodes each model's sample from a buffer
// of every capacity up to past its encoding, so that each key meets the
// end of the spare capacity at every offset, one byte short of a padded
// write and exactly at it: the same bytes as the reference, none written
// past the capacity.
func TestBuilderEveryBufferBoundary(t *testing.T) {
	for k, sample := range samples() {
		sample = randomRecord(nil, sample, nil, nil, 1) // objects as JSON
		for _, o := range modes {
			ref := builderOf(t, k, sample)
			want, err := ref.encodeOld(o)
			if err != nil {
				t.Fatalf("%s strict=%v: %v", k, o.Strict, err)
			}
			for c := 0; c <= len(want)+2*qpadLen; c++ {
				b := builderOf(t, k, sample)
				parent := bytes.Repeat([]byte{0xA5}, c+qpadLen)
				b.buf = parent[:0:c]
				got, err := b.Encode(o)
				if err != nil || !bytes.Equal(got.JSON, want) {
					t.Fatalf("%s strict=%v cap=%d: got %s %v, want %s", k, o.Strict, c, got.JSON, err, want)
				}
				for i := c; i < len(parent); i++ {
					if parent[i] != 0xA5 {
						t.Fatalf("%s cap=%d: byte %d past the capacity written", k, c, i)
					}
				}
			}
		}
	}
}

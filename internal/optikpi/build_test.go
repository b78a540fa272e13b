package optikpi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// builderValues are the values a mapper sets, good and bad for every type.
var builderValues = []Value{
	{},
	String(""),
	String("text"),
	String("Bonus"),
	String("2024-01-15T10:30:00Z"),
	String("2024-01-15T10:30:00.123Z"),
	String("1990-05-15"),
	String("a@b.co"),
	String("EUR"),
	String(`{"a":1}`),
	String("esc \"q\" \x01 \xff"),
	{Type: ValueNumber, Text: "0"},
	{Type: ValueNumber, Text: "-3"},
	{Type: ValueNumber, Text: "10.50"},
	{Type: ValueNumber, Text: "1e400"},
	{Type: ValueNumber, Text: "12x"},
	Bool(true),
	Bool(false),
	{Type: ValueJSON, Text: `{ "a" : [1, 2] }`},
	{Type: ValueJSON, Text: `"{\"a\":1}"`},
	{Type: ValueJSON, Text: `[1]`},
	{Type: ValueJSON, Text: `{"a":`},
}

// builderOf sets r's fields on a Builder of kind k.
func builderOf(t *testing.T, k Kind, r Record) *Builder { return fillBuilder(t, new(Builder), k, r) }

// fillBuilder resets b for kind k and sets r's fields on it.
func fillBuilder(t *testing.T, b *Builder, k Kind, r Record) *Builder {
	t.Helper()
	b.Reset(k)
	for name, v := range r {
		val, ok := ValueOf(v)
		if !ok {
			t.Fatalf("%s: %T is not a Value", name, v)
		}
		if i, ok := k.FieldIndex(name); ok {
			b.Set(i, val)
		} else {
			b.SetExtra(name, val)
		}
	}
	return b
}

// TestBuilderMatchesEncode checks that a Builder encodes and rejects every
// record as Encode does: each field of each model set to each value, left
// out, and with extra fields.
func TestBuilderMatchesEncode(t *testing.T) {
	check := func(t *testing.T, what string, k Kind, r Record) {
		t.Helper()
		for _, o := range modes {
			want, wantErr := Encode(k, r, o)
			got, gotErr := builderOf(t, k, r).Encode(o)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !bytes.Equal(got.JSON, want.JSON) ||
				got.UserID != want.UserID || got.EventID != want.EventID || got.Kind != want.Kind && wantErr == nil {
				t.Errorf("%s %s strict=%v:\ngot  %+v %q %v\nwant %+v %q %v", k, what, o.Strict,
					got, got.JSON, gotErr, want, want.JSON, wantErr)
			}
		}
	}
	for k, base := range samples() {
		for name, v := range base {
			if m, ok := v.(map[string]any); ok {
				raw, err := json.Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				base = with(base, name, json.RawMessage(raw))
			}
		}
		base = with(base, "zz_extra", "x")
		base = with(base, "aa_extra", json.Number("1"))
		for _, f := range k.Fields() {
			check(t, "without "+f.Name, k, without(base, f.Name))
			for _, v := range builderValues {
				check(t, fmt.Sprintf("%s=%+v", f.Name, v), k, with(base, f.Name, v.Any()))
			}
		}
		for _, v := range builderValues {
			check(t, fmt.Sprintf("extra=%+v", v), k, with(base, "mm_extra", v.Any()))
		}
	}
}

func TestBuilderReuse(t *testing.T) {
	var b Builder
	r := samples()[KindDeposit]
	want, err := Encode(KindDeposit, r, ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset(KindCustomer)
	b.Set(0, String("left over"))
	b.SetExtra("left_over", String("x"))
	b.Reset(KindDeposit)
	for name, v := range r {
		val, _ := ValueOf(v)
		if i, ok := KindDeposit.FieldIndex(name); ok {
			b.Set(i, val)
		} else {
			b.SetExtra(name, val)
		}
	}
	got, err := b.Encode(ValidateOptions{})
	if err != nil || !bytes.Equal(got.JSON, want.JSON) {
		t.Fatalf("after reuse: got %s %v, want %s", got.JSON, err, want.JSON)
	}
	b.Reset(KindDeposit)
	if _, err := b.Encode(ValidateOptions{}); err == nil {
		t.Fatalf("empty deposit: got no error")
	}
	if string(got.JSON) != string(want.JSON) {
		t.Fatalf("the Encoded aliases the Builder: got %s, want %s", got.JSON, want.JSON)
	}
}

func TestBuilderInvalidKind(t *testing.T) {
	var b Builder
	b.Reset(Kind(0))
	if _, err := b.Encode(ValidateOptions{}); err == nil {
		t.Fatal("got no error for an invalid kind")
	}
}

// TestBuilderResetLetsGo: Reset keeps no view of the values set before, so
// that a pooled Builder does not hold a record's value (and with it the
// fetched batch it slices) alive until its next use.
func TestBuilderResetLetsGo(t *testing.T) {
	var b Builder
	b.Reset(KindDeposit)
	b.Set(0, String("a view of a record"))
	b.SetExtra("extra", String("another view"))
	b.Reset(Kind(0))
	for i, v := range b.vals {
		if v != (Value{}) {
			t.Errorf("vals[%d] = %+v after Reset; want the zero Value", i, v)
		}
	}
	for i, e := range b.extras[:cap(b.extras)] {
		if e != (namedValue{}) {
			t.Errorf("extras[%d] = %+v after Reset; want none", i, e)
		}
	}
}

// TestBuilderMatchesEncodeRandom sets random fields to random values, so
// that missing and bad fields meet in every order, and keeps every
// encoding to check that none is written over by the next ones.
func TestBuilderMatchesEncodeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type kept struct {
		got  Encoded
		want []byte
	}
	var all []kept
	var b Builder
	for k, sample := range samples() {
		fields := k.Fields()
		for range 300 {
			r := randomRecord(rng, sample, fields, builderValues, 10)
			if rng.IntN(2) == 0 {
				r["zz_extra"] = "x"
			}
			for _, o := range modes {
				want, wantErr := Encode(k, r, o)
				got, gotErr := fillBuilder(t, &b, k, r).Encode(o)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !bytes.Equal(got.JSON, want.JSON) {
					t.Fatalf("%s %v strict=%v:\ngot  %q %v\nwant %q %v", k, r, o.Strict, got.JSON, gotErr, want.JSON, wantErr)
				}
				if gotErr == nil {
					all = append(all, kept{got, bytes.Clone(want.JSON)})
				}
			}
		}
	}
	if len(all) < 100 {
		t.Fatalf("only %d records encoded: the test sets too few good values", len(all))
	}
	for _, e := range all {
		if !bytes.Equal(e.got.JSON, e.want) {
			t.Fatalf("an encoding changed after later ones:\ngot  %s\nwant %s", e.got.JSON, e.want)
		}
	}
}

// TestBlockCopy: Copy returns the same encoding in memory of its own, from
// the block for a small one, apart for one above encodeRoom, and a larger
// one than a block or one already Alone as it is.
func TestBlockCopy(t *testing.T) {
	enc := func(n int) Encoded {
		return Encoded{Kind: KindDeposit, UserID: "u1", EventID: "e1", JSON: bytes.Repeat([]byte{'x'}, n)}
	}
	cases := []struct {
		name      string
		in        Encoded
		same      bool // returned as it is
		fromBlock bool // cut from the Block's current block
	}{
		{"small", enc(300), false, true},
		{"no ids", Encoded{Kind: KindDeposit, JSON: []byte(`{}`)}, false, true},
		{"above encodeRoom", enc(encodeRoom), false, false},
		{"larger than a block", enc(encodeBlock + 1), true, false},
		{"alone", alone(t), true, false},
		{"alone, JSON replaced", func() Encoded { e := alone(t); e.JSON = bytes.Clone(e.JSON); return e }(), false, true},
		{"alone, id replaced", func() Encoded { e := alone(t); e.EventID = strings.Clone(e.EventID); return e }(), false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b Block
			b.Copy(enc(10)) // start a block
			free := unsafe.SliceData(b.free)
			got := b.Copy(tc.in)
			if !bytes.Equal(got.JSON, tc.in.JSON) || got.UserID != tc.in.UserID || got.EventID != tc.in.EventID || got.Kind != tc.in.Kind {
				t.Fatalf("Copy = %+v, want %+v", got, tc.in)
			}
			if len(got.JSON) != cap(got.JSON) {
				t.Errorf("cap %d, want %d: an append would write over the next copy", cap(got.JSON), len(got.JSON))
			}
			aliased := unsafe.SliceData(got.JSON) == unsafe.SliceData(tc.in.JSON)
			if aliased != tc.same {
				t.Errorf("JSON aliases the input: %v, want %v", aliased, tc.same)
			}
			if from := unsafe.SliceData(got.JSON) == free; from != tc.fromBlock {
				t.Errorf("cut from the block: %v, want %v", from, tc.fromBlock)
			}
		})
	}
}

// alone is a Builder's encoding of a deposit: its memory holds it alone,
// exactly, so an append to its JSON cannot write over anything.
func alone(t *testing.T) Encoded {
	t.Helper()
	e, err := builderOf(t, KindDeposit, samples()[KindDeposit]).Encode(ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !e.Alone() || len(e.JSON) != cap(e.JSON) {
		t.Fatalf("Builder.Encode: Alone %v, len %d cap %d; want alone and len = cap", e.Alone(), len(e.JSON), cap(e.JSON))
	}
	return e
}

// TestAloneIdReplacedAtTheEnd: an encoding without ids whose memory ends
// where its JSON does is not Alone once an id is set by hand, and asking
// forms no pointer past that memory (go test -race checks pointer
// arithmetic: checkptr).
func TestAloneIdReplacedAtTheEnd(t *testing.T) {
	for _, n := range []int{8, 16, 48, 64, 1024, 4096, 8192} {
		e := encodedAlone(KindSystemEvent, make([]byte, n), n, 0, 0)
		if !e.Alone() {
			t.Fatalf("%d bytes without ids: Alone false, want true", n)
		}
		e.UserID, e.EventID = "u1", "e1"
		if e.Alone() {
			t.Errorf("%d bytes, ids set by hand: Alone true, want false", n)
		}
	}
}

// TestValueCheckMatchesCheckField checks every field of every model with
// values of each type against checkField of the same value boxed, which
// Validate runs on a Record.
func TestValueCheckMatchesCheckField(t *testing.T) {
	values := []Value{
		{},
		String(""), String("x"), String("Deposit"), String("Male"), String("EUR"), String("eur"),
		String("2024-01-15T10:30:00Z"), String("2024-01-15T10:30:00.1234567890Z"), String("1990-05-15"),
		String("1990-02-30"), String("a@b.co"), String("a b@c.de"), String(`{"a":1}`), String("{"),
		{Type: ValueNumber, Text: "0"}, {Type: ValueNumber, Text: "-1"}, {Type: ValueNumber, Text: "3.5"},
		{Type: ValueNumber, Text: "30e-1"}, {Type: ValueNumber, Text: "1e400"}, {Type: ValueNumber, Text: "01"},
		{Type: ValueNumber, Text: ""}, Bool(true), Bool(false),
		{Type: ValueJSON, Text: `{"a": [1, 2]}`}, {Type: ValueJSON, Text: ` [1] `}, {Type: ValueJSON, Text: `"{\"a\":1}"`},
		{Type: ValueJSON, Text: `"x"`}, {Type: ValueJSON, Text: `{`}, {Type: ValueJSON, Text: ``},
		// A date-time as AppendDateTime writes it, marked so: the same
		// verdict in a field of any type.
		{Type: ValueString, Text: "2024-01-15T10:30:00.123Z", Plain: true, DateTime: true},
		{Type: ValueString, Text: "0001-01-01T00:00:00Z", Plain: true, DateTime: true},
		// Numbers marked as in JSON's grammar, as a mapper reads them.
		{Type: ValueNumber, Text: "-1", Plain: true}, {Type: ValueNumber, Text: "0", Plain: true},
		{Type: ValueNumber, Text: "3.5", Plain: true}, {Type: ValueNumber, Text: "1e400", Plain: true},
		{Type: ValueNumber, Text: "-0.0", Plain: true}, {Type: ValueNumber, Text: "30e-1", Plain: true},
	}
	for _, k := range Kinds() {
		for _, f := range k.Fields() {
			for _, v := range values {
				for _, strict := range []bool{false, true} {
					got := v.check(&f, strict, k.EventCategory())
					want := checkField(&f, v.Any(), strict, k.EventCategory())
					if got != want {
						t.Errorf("%s.%s = %#v, strict=%v: got %q, want %q", k, f.Name, v, strict, got, want)
					}
				}
			}
		}
	}
}

// TestValueCheckPlainJSON checks that JSON marked Plain, as read from a
// checked record, passes as an object without json.Valid, and that
// anything else is still checked.
func TestValueCheckPlainJSON(t *testing.T) {
	f, _ := KindSystemEvent.Field("event_data")
	for _, tc := range []struct {
		v     Value
		issue string
	}{
		{Value{Type: ValueJSON, Text: `{"a": [1, 2]}`, Plain: true}, ""},
		{Value{Type: ValueJSON, Text: `[1, 2]`, Plain: true}, issueJSON},
		{Value{Type: ValueJSON, Text: `"{}"`, Plain: true}, ""},
		{Value{Type: ValueJSON, Text: `"x"`, Plain: true}, issueJSON},
		{Value{Type: ValueJSON, Text: ``, Plain: true}, issueJSON},
		{Value{Type: ValueJSON, Text: `{"a":}`}, issueJSON},
	} {
		if got := tc.v.check(&f, false, ""); got != tc.issue {
			t.Errorf("check(%+v) = %q, want %q", tc.v, got, tc.issue)
		}
	}
}

// randomRecord is sample (its objects as JSON, as a mapper sets them) with
// each of fields left out, or set to one of values, once in every n.
func randomRecord(rng *rand.Rand, sample Record, fields []Field, values []Value, n int) Record {
	r := Record{}
	for name, v := range sample {
		if m, ok := v.(map[string]any); ok {
			raw, _ := json.Marshal(m)
			v = json.RawMessage(raw)
		}
		r[name] = v
	}
	for _, f := range fields {
		switch rng.IntN(n) {
		case 0:
			delete(r, f.Name)
		case 1:
			r[f.Name] = values[rng.IntN(len(values))].Any()
		}
	}
	return r
}

// TestBuilderMarkedMatchesEncode is TestBuilderMatchesEncodeRandom with
// the strings marked as a mapper marks them (Plain when they hold nothing
// to escape, DateTime too when AppendDateTime could have written them), so
// that Encode's per-field string checks (strCheck) and its write of a
// plain string meet every field, value and mode, good and bad: the same
// bytes and the same error as the Record's encoding.
func TestBuilderMarkedMatchesEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	values := append(slices.Clone(builderValues),
		String("Male"), String("bonus"), String("pending"), String("list_1"), String("bad list"),
		String("Deposit"), String("Account"), String("Gaming Activity"), String("SystemEvent"),
		String("2024-01-15T10:30:00.5Z"), String("2024-02-30T10:30:00Z"), String("ünïcödé"))
	mark := func(v Value) Value {
		v = MarkPlain(v)
		if v.Plain {
			b, ok := AppendDateTime(nil, mustTime(v.Text))
			v.DateTime = ok && string(b) == v.Text
		}
		return v
	}
	var b Builder
	encoded := 0
	for k, sample := range samples() {
		fields := k.Fields()
		for range 400 {
			r := randomRecord(rng, sample, fields, values, 8)
			for _, o := range modes {
				want, wantErr := Encode(k, r, o)
				b.Reset(k)
				for name, v := range r {
					val, _ := ValueOf(v)
					if i, ok := k.FieldIndex(name); ok {
						b.Set(i, mark(val))
					} else {
						b.SetExtra(name, mark(val))
					}
				}
				got, gotErr := b.Encode(o)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !bytes.Equal(got.JSON, want.JSON) ||
					got.UserID != want.UserID || got.EventID != want.EventID {
					t.Fatalf("%s %v strict=%v:\ngot  %q %v\nwant %q %v", k, r, o.Strict, got.JSON, gotErr, want.JSON, wantErr)
				}
				if gotErr == nil {
					encoded++
				}
			}
		}
	}
	if encoded < 200 {
		t.Fatalf("only %d records encoded: the test sets too few good values", encoded)
	}
}

// mustTime is the time s names in RFC 3339, the zero time if none.
func mustTime(s string) time.Time {
	tm, _ := time.Parse(time.RFC3339Nano, s)
	return tm
}

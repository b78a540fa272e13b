package optikpi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeValidate feeds arbitrary bodies through the emulator's decoder,
// every model's validation in both modes and the encoder. Whatever
// DecodeRecords accepts must encode to valid JSON that decodes to the same
// record.
func FuzzDecodeValidate(f *testing.F) {
	for _, v := range signatureVectors(f) {
		f.Add([]byte(v.Body))
	}
	for k, r := range samples() {
		b, err := k.AppendJSON(nil, r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"amount":1e400,"event_time":"2024-02-30T10:00:00Z","ext_data":"{\"a\":"}]`))
	f.Add([]byte("{\"user_id\":\"\\ud83c\",\"x\":\"\xff\"}"))

	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := DecodeRecords(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedBody) {
				t.Fatalf("DecodeRecords error %v does not match ErrMalformedBody", err)
			}
			return
		}
		for _, r := range recs {
			for _, k := range Kinds() {
				for _, o := range modes {
					if err := k.Validate(r, o); err != nil && !errors.Is(err, ErrInvalid) {
						t.Fatalf("%s.Validate: error %v does not match ErrInvalid", k, err)
					}
				}
				out, err := k.AppendJSON(nil, r)
				if err != nil {
					t.Fatalf("%s.AppendJSON of a decoded record: %v", k, err)
				}
				if !json.Valid(out) {
					t.Fatalf("%s.AppendJSON wrote invalid JSON: %s", k, out)
				}
				again, err := DecodeRecords(out)
				if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], r) {
					t.Fatalf("%s: round trip changed the record\n got %#v, %v\nwant %#v", k, again, err, r)
				}
			}
		}
	})
}

// FuzzAppendCompact checks appendCompact, which appends runs and steps over
// a string's plain text a word at a time, against the byte-at-a-time
// compaction it replaced, on valid JSON (its precondition).
func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{
		`{"a": 1, "b" : [true, false, null], "c":{"d":"e f"}}`,
		"{\n\t\"favourite category\": \"live casino, \\\"the\\\" best\",\r\n \"x\": \"\xff\xfe\"}",
		`["caf` + "\u00e9" + ` au lait", "` + "\xe2\x82" + `", "a long plain string of some forty bytes or so"]`,
		` "a\\u0022b\\\\" `, `{}`, `[ ]`, `-1.5e3`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if !json.Valid(src) {
			return
		}
		got, want := appendCompact([]byte("x"), src), compactByByte([]byte("x"), src)
		if !bytes.Equal(got, want) {
			t.Fatalf("appendCompact(%q)\n got %q\nwant %q", src, got, want)
		}
	})
}

// compactByByte is appendCompact as it was, a byte at a time: the general
// form its runs must equal.
func compactByByte(dst, src []byte) []byte {
	inString := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, src[i:i+size]...)
			}
			i += size
			continue
		case inString && c == '\\':
			dst = append(dst, c, src[i+1])
			i += 2
			continue
		case c == '"':
			inString = !inString
		case !inString && isJSONSpace(c):
			i++
			continue
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

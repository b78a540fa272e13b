package optikpi

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// compactOld runs compactByByte (appendCompact as of 7739ee0), reporting a
// panic as one.
func compactOld(src []byte) (out []byte, panicked bool) {
	defer func() {
		if recover() != nil {
			out, panicked = nil, true
		}
	}()
	return compactByByte([]byte("x"), src), false
}

// compactNew runs appendCompact, reporting a panic as one.
func compactNew(src []byte) (out []byte, panicked bool) {
	defer func() {
		if recover() != nil {
			out, panicked = nil, true
		}
	}()
	return appendCompact([]byte("x"), src), false
}

// compactDiff describes how appendCompact and the byte-at-a-time form
// differ on src, "" when they do not. The old form panics on a string
// that ends in a lone backslash, which no valid JSON does; the new one
// keeps the backslash, and that difference is allowed (see below).
func compactDiff(src []byte) string {
	want, wp := compactOld(src)
	got, gp := compactNew(src)
	if wp || gp || !bytes.Equal(got, want) {
		return fmt.Sprintf("appendCompact(%q)\n got %q (panic %v)\nwant %q (panic %v)", src, got, gp, want, wp)
	}
	return ""
}

// endsInEscape reports whether src ends with a string's backslash that has
// nothing after it: the one input where the two forms differ.
func endsInEscape(src []byte) bool {
	in := false
	for i := 0; i < len(src); i++ {
		switch {
		case in && src[i] == '\\':
			if i+1 == len(src) {
				return true
			}
			i++
		case src[i] == '"':
			in = !in
		}
	}
	return false
}

// FuzzAppendCompactAny compares appendCompact with the byte-at-a-time form
// on any input, valid JSON or not.
func FuzzAppendCompactAny(f *testing.F) {
	for _, s := range []string{
		`{"a": 1, "b" : [true, false, null], "c":{"d":"e f"}}`,
		"\"0123456\\\"89abcdef\\", "\"abcdefg\xc3\xa9hijklmnop\"", "\"\x01\x02abcdefgh\x7f\x80\"  ",
		`"abc`, `"a\`, "\"\\\xc3\xa9\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if endsInEscape(src) {
			return
		}
		if d := compactDiff(src); d != "" {
			t.Fatal(d)
		}
	})
}

// TestAppendCompactRandom compares the two forms on random bytes from an
// alphabet of the bytes that matter, at every alignment against the words.
func TestAppendCompactRandom(t *testing.T) {
	alphabet := []byte{'"', '\\', ' ', '\t', '\n', '\r', 'a', 'b', '{', '}', ':', ',', 'u', '0',
		0x00, 0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0xff, 0xed, 0xa0}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 300000
	if testing.Short() {
		n = 20000
	}
	for range n {
		src := make([]byte, rng.IntN(40))
		for i := range src {
			if rng.IntN(3) == 0 {
				src[i] = 'x' // plain runs, so that words are skipped
			} else {
				src[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		if endsInEscape(src) {
			continue
		}
		if d := compactDiff(src); d != "" {
			t.Fatal(d)
		}
	}
}

// TestAppendCompactTrailingEscape records the one difference: on text
// that ends inside a string with a lone backslash (never valid JSON, which
// both callers check first) the old form panicked and the new one keeps the
// backslash.
func TestAppendCompactTrailingEscape(t *testing.T) {
	for _, src := range []string{`"a\`, `{"k":"0123456789\`, `"\`} {
		if _, wp := compactOld([]byte(src)); !wp {
			t.Errorf("old form on %q: no panic", src)
		}
		if got, gp := compactNew([]byte(src)); gp || string(got) != "x"+src {
			t.Errorf("appendCompact(%q) = %q (panic %v); want %q", src, got, gp, "x"+src)
		}
	}
}

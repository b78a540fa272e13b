package optikpi

import (
	"encoding/binary"
	"testing"
	"unicode/utf8"
)

// TestPlainPrefix8 compares the eight-byte count with a byte-by-byte one:
// one byte of every value at every position, and every pair of values.
func TestPlainPrefix8(t *testing.T) {
	plain := func(c byte) bool { return c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' }
	check := func(b []byte) {
		want := 0
		for want < len(b) && plain(b[want]) {
			want++
		}
		if got := PlainPrefix8(binary.LittleEndian.Uint64(b)); got != want {
			t.Fatalf("PlainPrefix8(%q) = %d, want %d", b, got, want)
		}
	}
	for c := range 256 {
		for p := range 8 {
			b := []byte("abcdefgh")
			b[p] = byte(c)
			check(b)
		}
		for d := range 256 {
			check([]byte{'x', byte(c), 'y', 'z', ' ', byte(d), '~', '!'})
		}
	}
}

// FuzzAppendString compares appendString with the plain byte loop it
// speeds up.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain ascii text", "esc \"q\" \x01 \xff", "évènement\u2028", "0123456\\89abcdef\"", "\xe2\x82"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []byte
		want = append(want, '"')
		for i := 0; i < len(s); {
			r, size := utf8.DecodeRuneInString(s[i:])
			i += size
			switch {
			case r == '"' || r == '\\':
				want = append(want, '\\', byte(r))
			case r < 0x20:
				want = appendControl(want, byte(r))
			default:
				want = utf8.AppendRune(want, r) // RuneError for invalid UTF-8
			}
		}
		want = append(want, '"')
		if got := appendString(nil, s); string(got) != string(want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func appendControl(b []byte, c byte) []byte {
	switch c {
	case '\b':
		return append(b, `\b`...)
	case '\f':
		return append(b, `\f`...)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// FuzzPlainString checks the promise a plain string makes: a string that
// keeps it encodes as it would unmarked, and the check that may mark one
// is that of the text between the quotes of a JSON string without escapes.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{"", "plain", "tab\there", `q"`, `b\`, "é☕", "\xff", "\u2028<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		plain := utf8.ValidString(s)
		for i := 0; i < len(s); i++ {
			plain = plain && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\'
		}
		if plainText(s) != plain {
			t.Fatalf("plainText(%q) = %v, want %v", s, !plain, plain)
		}
		if !plain {
			return
		}
		v := String(s)
		want, _ := v.appendJSON(nil)
		v.Plain = true
		got, _ := v.appendJSON(nil)
		if string(got) != string(want) {
			t.Fatalf("plain %q encodes as %s, want %s", s, got, want)
		}
	})
}

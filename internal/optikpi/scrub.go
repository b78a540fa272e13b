package optikpi

import (
	"bytes"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// scrubMark replaces the token wherever a server's answer carries it.
const scrubMark = "[token]"

// A start of the token is scrubbed too: anywhere from minEchoPrefix runes
// (a server may echo the token cut short), and where a body ends from
// minScrubPrefix runes (a body cut mid-token must not keep its first
// half). Shorter starts are too likely to be ordinary text, and too short
// to help guess the rest.
const (
	minEchoPrefix  = 12
	minScrubPrefix = 6
)

// readScrubbed reads at most limit bytes of an error body with token
// scrubbed. It reads further than limit first, so that a token that starts
// before the limit is scrubbed whole before the body is cut.
func readScrubbed(r io.Reader, limit int, token string) ([]byte, error) {
	// A token rune takes at most 12 bytes in JSON (a \uXXXX surrogate pair).
	slack := 12 * utf8.RuneCountInString(token)
	b, err := io.ReadAll(io.LimitReader(r, int64(limit+slack)))
	b = scrubBytes(b, token)
	if len(b) > limit {
		cut := limit
		if i := bytes.LastIndex(b[:min(len(b), limit+len(scrubMark)-1)], []byte(scrubMark)); i >= 0 && i+len(scrubMark) > limit {
			cut = i // not half a mark
		}
		b = scrubBytes(b[:cut], token) // the cut may have made a new edge
	}
	return b, err
}

// scrubString replaces token in s, written as is or with JSON escapes, and
// the starts of it that minEchoPrefix and minScrubPrefix say.
func scrubString(s, token string) string {
	if token == "" || s == "" {
		return s
	}
	return string(scrubBytes([]byte(s), token))
}

// scrubBytes is scrubString on bytes; it returns b itself when it holds no
// token.
func scrubBytes(b []byte, token string) []byte {
	if token == "" || len(b) == 0 {
		return b
	}
	runes := utf8.RuneCountInString(token)
	first, _ := utf8.DecodeRuneInString(token)
	var out []byte
	last := 0 // b[last:i] is not yet copied to out
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' && rune(b[i]) != first && b[i] < utf8.RuneSelf {
			continue
		}
		end, n := matchToken(b, i, token)
		if n < runes && n < minEchoPrefix && (n < minScrubPrefix || !atEdge(b[end:])) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(b))
		}
		out = append(out, b[last:i]...)
		out = append(out, scrubMark...)
		last = end
		i = end - 1
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// matchToken matches token against b from i, each rune as is or as a JSON
// escape, and returns where the match ends and how many runes matched.
func matchToken(b []byte, i int, token string) (end, n int) {
	for _, want := range token {
		got, size := jsonRune(b[i:])
		if size == 0 || got != want {
			break
		}
		i += size
		n++
	}
	return i, n
}

// atEdge reports whether rest is all that is left of b after a partial
// match: nothing, or the start of a rune or escape the cut left unfinished.
func atEdge(rest []byte) bool {
	return len(rest) == 0 || (rest[0] == '\\' && len(rest) < 12) || !utf8.FullRune(rest)
}

// jsonRune decodes the rune at the start of b, as is or JSON-escaped; size
// 0 when b does not start with a whole one.
func jsonRune(b []byte) (r rune, size int) {
	if len(b) == 0 {
		return 0, 0
	}
	if b[0] != '\\' {
		return utf8.DecodeRune(b)
	}
	if len(b) < 2 {
		return 0, 0
	}
	switch b[1] {
	case '"', '\\', '/':
		return rune(b[1]), 2
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(b[2:])
		if !ok {
			return 0, 0
		}
		if utf16.IsSurrogate(r) && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
			if lo, ok := hex4(b[8:]); ok {
				if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
					return pair, 12
				}
			}
		}
		return r, 6
	}
	return 0, 0
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(v), err == nil
}

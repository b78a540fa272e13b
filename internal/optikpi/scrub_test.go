package optikpi

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// echoToken is a token with the characters JSON encoders escape in
// different ways: '/' (\/), '+', '-' and '=' (\u002b, \u002d, \u003d).
const echoToken = "echo-Tok/9f+Qx2-ZZ7=/ab-cd-1234"

// jsonEscapes matches the escapes a JSON decoder would turn back into the
// token's characters.
var jsonEscapes = regexp.MustCompile(`\\u[0-9a-fA-F]{4}|\\/`)

// partialEscape is an escape the end of a cut body left unfinished.
var partialEscape = regexp.MustCompile(`\\(u[0-9a-fA-F]{0,3})?$`)

// unescape undoes jsonEscapes, so that a test sees the token however the
// body spells it.
func unescape(s string) string {
	return jsonEscapes.ReplaceAllStringFunc(s, func(m string) string {
		if m == `\/` {
			return "/"
		}
		n, _ := strconv.ParseUint(m[2:], 16, 16)
		return string(rune(n))
	})
}

// escapeAll writes every character of s as \u00XX.
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// TestSendTokenEchoScrubbed: a server echoing the token in its error body,
// as is, JSON-escaped (every character as \u00XX, or '/' as \/), or across
// the error body's 4 KiB limit, gets neither the token nor a long start of
// it into the *Error: its text, Body (the dead letter's API error header)
// or API fields.
func TestSendTokenEchoScrubbed(t *testing.T) {
	limit := defaultMaxErrorBody
	slashes := strings.ReplaceAll(echoToken, "/", `\/`)
	pad := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name   string
		body   string
		marked bool // the token is whole within the limit: Body says where it was
	}{
		{"raw", `{"error":"Unauthorized","message":"bad token ` + echoToken + `"}`, true},
		{"every char escaped", `{"error":"Unauthorized","message":"bad token ` + escapeAll(echoToken) + `"}`, true},
		{"slash escaped", `{"error":"Unauthorized","message":"bad token ` + slashes + `","details":{"field":"x-optikpi-token","issue":"` + slashes + `"}}`, true},
		{"escaped in details", `{"error":"Unauthorized","message":"no","details":{"field":"` + escapeAll(echoToken) + `","issue":"cut short: ` + escapeAll(echoToken[:minEchoPrefix]) + `…"}}`, true},
		{"raw across the cut", pad(limit-10) + echoToken + pad(100), false},
		{"raw ends at the cut", pad(limit-len(echoToken)) + echoToken, true},
		{"escaped across the cut", pad(limit-45) + escapeAll(echoToken) + pad(100), false},
		{"escaped across the cut mid-escape", pad(limit-3) + escapeAll(echoToken) + pad(100), false},
		{"prefix at the end", `<html>` + pad(200) + echoToken[:minScrubPrefix], false},
		{"html body", `<html><body>token ` + echoToken + `</body></html>`, true},
	}
	long := echoToken[:minEchoPrefix]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("X-Optikpi-Token") != echoToken {
					t.Errorf("request token %q; want %q", r.Header.Get("X-Optikpi-Token"), echoToken)
				}
				reply(w, http.StatusUnauthorized, tt.body)
			})
			c, err := NewClient(s.base, testAccount, testWorkspace, StaticToken(echoToken))
			if err != nil {
				t.Fatal(err)
			}
			e := sendErr(t, c, context.Background())
			seen := map[string]string{"Error()": e.Error(), "Body": string(e.Body)}
			if e.API != nil {
				seen["API"] = fmt.Sprintf("%+v", *e.API)
			}
			for where, text := range seen {
				for _, form := range []string{text, unescape(text)} {
					if strings.Contains(form, long) || endsWithStart(partialEscape.ReplaceAllString(strings.TrimRight(form, `"}…`), ""), minScrubPrefix) {
						t.Errorf("%s keeps the token, its first %d characters, or ends with its first %d or more: %q", where, minEchoPrefix, minScrubPrefix, form)
						break
					}
				}
			}
			if len(e.Body) > limit {
				t.Errorf("Body has %d bytes; want at most %d", len(e.Body), limit)
			}
			if tt.marked && !strings.Contains(string(e.Body), scrubMark) {
				t.Errorf("Body %q does not say where the token was", e.Body)
			}
		})
	}
}

// endsWithStart reports whether s ends with the first n or more characters
// of echoToken.
func endsWithStart(s string, n int) bool {
	for ; n <= len(echoToken); n++ {
		if strings.HasSuffix(s, echoToken[:n]) {
			return true
		}
	}
	return false
}

// TestScrubKeepsOtherText: text without the token, or with only a short
// start of it, is kept as is.
func TestScrubKeepsOtherText(t *testing.T) {
	for _, s := range []string{
		`{"error":"Bad Request","message":"echo-T is not a token"}`,
		`a \u0065cho-x \/ \ud83d\ude00 \u12`,
		echoToken[:minScrubPrefix-1],
		"not the end: " + echoToken[:minEchoPrefix-1] + "!",
		"",
	} {
		if got := scrubString(s, echoToken); got != s {
			t.Errorf("scrubString(%q) = %q; want it unchanged", s, got)
		}
	}
}

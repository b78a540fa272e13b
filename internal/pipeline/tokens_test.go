package pipeline_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestTokenNeverEchoed runs fault-suite scenarios against fronts that echo
// the token back in every form a server might, and finds no 12-byte piece of
// it, raw or escaped, in any log line (debug and up), metric, /readyz body,
// returned error or dead letter (runScenario checks them all). The plain
// fault suite checks the same with servers that do not echo.
func TestTokenNeverEchoed(t *testing.T) {
	runSuite(t, []scenario{
		echoing("503 echoing the token JSON-escaped", "the first 30 requests; \\uXXXX for every byte, and \\/ with \\u002d",
			30, http.StatusServiceUnavailable, "application/json", func(token string) string { return echoBody("Service Unavailable", token) }),
		echoing("401 echoing the token JSON-escaped", "the first 10 requests: misconfigured, so /readyz says why",
			10, http.StatusUnauthorized, "application/json", func(token string) string { return echoBody("Unauthorized", token) }),
		echoing("HTML 400 echoing the token across the 4 KiB cut", "the first 10 requests: raw, and across byte 4096",
			10, http.StatusBadRequest, "text/html", func(token string) string {
				html := "<html><body><h1>400 Bad Request</h1><p>token " + token + "</p><pre>"
				return html + strings.Repeat(".", 4090-len(html)) + token + "</pre></body></html>"
			}),
		echoedRejections(),
		exhausted("retries exhausted, the 503 echoing the token", func(token string) string {
			return echoBody("Service Unavailable", token)
		}),
	})
}

// echoing answers the first n requests itself, with status and a body
// made from the token, then lets them through.
func echoing(name, note string, n int64, status int, contentType string, body func(token string) string) scenario {
	return scenario{
		name: name,
		note: note,
		setup: func(fr *faultRun) {
			b := body(fr.token)
			fr.withFront(func(_ *http.Request, i int64) (int, string, string, bool) {
				return status, contentType, b, i <= n
			}, nil)
		},
		check: func(fr *faultRun) {
			if got := fr.front.answered.Load(); got != n {
				fr.t.Errorf("the front echoed the token %d times; want %d", got, n)
			}
		},
	}
}

// echoBody is an API error body whose message, details and an extra field
// carry the token escaped three ways: every byte \u-escaped, / as \/ and -
// as \u002d, and raw.
func echoBody(status, token string) string {
	var full strings.Builder
	for _, c := range token {
		fmt.Fprintf(&full, `\u%04x`, c)
	}
	mixed := strings.NewReplacer("/", `\/`, "-", `\u002d`).Replace(token)
	return `{"error":"` + status + `","message":"X-Optikpi-Token ` + full.String() + ` is not welcome",` +
		`"details":{"field":"x-optikpi-token","issue":"` + mixed + `"},"echo":"` + token + `"}`
}

// echoedRejections is the poisoned scenario behind a front that adds the
// token to every 400 the API answers, escaped in the message and raw where
// the client's 4 KiB cut splits it, keeping the API's bad-record index so
// that only the poisoned records are rejected.
func echoedRejections() scenario {
	sc := poisoned()
	sc.name = "rejections echoing the token"
	sc.note += "; each 400 echoes the token escaped and across byte 4096"
	setup := sc.setup
	sc.setup = func(fr *faultRun) {
		if setup != nil {
			setup(fr)
		}
		fr.withFront(nil, func(resp *http.Response) error {
			if resp.StatusCode != http.StatusBadRequest {
				return nil
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			var e map[string]any
			if err := json.Unmarshal(b, &e); err != nil {
				return fmt.Errorf("the emulator's 400 is not JSON: %s", b)
			}
			var echo struct{ Message string }
			json.Unmarshal([]byte(echoBody("x", fr.token)), &echo)
			e["message"] = fmt.Sprint(e["message"]) + "; " + echo.Message
			head, _ := json.Marshal(e)
			// Close the object with a field whose raw token starts 6
			// bytes before the cut.
			pad := max(4090-len(head)-len(`,"echo":"`), 0)
			out := string(head[:len(head)-1]) + `,"echo":"` + strings.Repeat(".", pad) + fr.token + `"}`
			resp.Body = io.NopCloser(strings.NewReader(out))
			resp.ContentLength = int64(len(out))
			resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
			return nil
		})
	}
	return sc
}

// TestTokenPiece: the search finds the token in every form the suite
// guards against, and nothing in text without it.
func TestTokenPiece(t *testing.T) {
	const token = "optk-0123456789/abcdefghij-klmnopqrst"
	var full strings.Builder
	for _, c := range token {
		fmt.Fprintf(&full, `\u%04x`, c)
	}
	tests := []struct {
		name, text string
		found      bool
	}{
		{"raw", "token " + token + " here", true},
		{"every byte \\u-escaped", full.String(), true},
		{"\\/ and \\u002d", strings.NewReplacer("/", `\/`, "-", `\u002d`).Replace(token), true},
		{"escaped twice", strings.NewReplacer("/", `\\/`, "-", `\\u002d`).Replace(token), true},
		{"URL-encoded", strings.ReplaceAll(token, "/", "%2F"), true},
		{"a 12-byte prefix", token[:12] + "…", true},
		{"12 bytes from the middle", "x" + token[10:22] + "x", true},
		{"11 bytes", token[:11], false},
		{"the scrubbed mark", "X-Optikpi-Token [token] is not welcome", false},
		{"nothing", `{"error":"Bad Request"}`, false},
	}
	for _, tt := range tests {
		got := tokenPiece(tt.text, token)
		if (got != "") != tt.found {
			t.Errorf("%s: tokenPiece(%q) = %q; want found %v", tt.name, tt.text, got, tt.found)
		}
	}
}

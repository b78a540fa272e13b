package dlq

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/failure"
)

func TestJSONRoundTrip(t *testing.T) {
	ts := time.UnixMilli(1767225600123).UTC()
	tests := []struct {
		name     string
		key      []byte
		value    []byte
		headers  []kgo.RecordHeader
		embedded bool // the value is embedded as JSON, not a string
	}{
		{"compact object", []byte("player-1"), []byte(`{"a":"ü\u00e9\\n\"q\"","b":[1,2.50,null],"h":"<b>&amp;","ls":"` + "\u2028" + `"}`), nil, true},
		{"spaces, unicode and escapes", []byte("p"), []byte("{\"a\": \"x y\",\n \"u\":\"ünï\\u00e9\\t\\\"q\\\"\"}\n"), nil, false},
		{"array", nil, []byte(`[1,{"x":true}]`), nil, true},
		{"not JSON", []byte(""), []byte("not json, at all"), nil, false},
		{"JSON and more", []byte("k"), []byte(`{"a":1}x`), nil, false},
		{"JSON cut short", []byte("k"), []byte(`{"a":[1`), nil, false},
		{"JSON string", []byte("k"), []byte(`"just a string"`), nil, false},
		{"number", []byte("k"), []byte(`12.50`), nil, false},
		{"binary key and value", []byte{0xff, 0x00, 0x01, 'k'}, []byte{0x80, '{', 0xfe}, nil, false},
		{"tombstone", []byte("k"), nil, nil, false},
		{"empty value", []byte("k"), []byte{}, nil, false},
		{"headers", []byte("k"), []byte(`{}`), []kgo.RecordHeader{
			{Key: "ce_type", Value: []byte("deposit, completed")},
			{Key: "bin", Value: []byte{0xc3, 0x28}},
			{Key: "null", Value: nil},
			{Key: "empty", Value: []byte{}},
			{Key: "\xffodd", Value: []byte("v")},
			{Key: "ce_type", Value: []byte("again")},
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &kgo.Record{Topic: "payments", Partition: 3, Offset: 1234, Timestamp: ts, Key: tt.key, Value: tt.value, Headers: tt.headers}
			l := &Letter{
				Entry: Entry{Source: src, Reason: failure.Invalid, Message: "field amount: bad", Route: "deposits",
					Endpoint: "/events/deposit", Status: 400, APIError: []byte("{\n  \"error\": \"x\"\n}\n"), Attempts: 3, FailedAt: ts.Add(time.Hour)},
				Partition: 1, Offset: 12, Timestamp: ts.Add(time.Hour),
				Record: &kgo.Record{Topic: "relay.dlq"},
			}
			line := AppendJSON(nil, l)
			if bytes.Count(line, []byte("\n")) != 1 || line[len(line)-1] != '\n' || !json.Valid(line) {
				t.Fatalf("not one line of JSON: %q", line)
			}
			if !IsLetterJSON(bytes.TrimSpace(line)) {
				t.Errorf("IsLetterJSON(%s) = false", line)
			}
			if got := bytes.Contains(line, append([]byte(`"value":`), tt.value...)); len(tt.value) > 0 && got != tt.embedded {
				t.Errorf("value embedded as JSON: %v, want %v: %s", got, tt.embedded, line)
			}
			if !bytes.Contains(line, []byte(`"api_error":{"error":"x"}`)) {
				t.Errorf("API error not embedded: %s", line)
			}
			got, err := DecodeRecord(line)
			if err != nil {
				t.Fatal(err)
			}
			checkRecord(t, got, src)
		})
	}
}

func checkRecord(t *testing.T, got, want *kgo.Record) {
	t.Helper()
	if got.Topic != want.Topic || got.Partition != want.Partition || got.Offset != want.Offset || !got.Timestamp.Equal(want.Timestamp) {
		t.Errorf("got %s/%d/%d at %v, want %s/%d/%d at %v", got.Topic, got.Partition, got.Offset, got.Timestamp, want.Topic, want.Partition, want.Offset, want.Timestamp)
	}
	if !bytes.Equal(got.Key, want.Key) || (got.Key == nil) != (want.Key == nil) {
		t.Errorf("got key %q (nil %v), want %q (nil %v)", got.Key, got.Key == nil, want.Key, want.Key == nil)
	}
	if !bytes.Equal(got.Value, want.Value) || (got.Value == nil) != (want.Value == nil) {
		t.Errorf("got value %q (nil %v), want %q (nil %v)", got.Value, got.Value == nil, want.Value, want.Value == nil)
	}
	if len(got.Headers) != len(want.Headers) {
		t.Fatalf("got headers %q, want %q", got.Headers, want.Headers)
	}
	for i := range got.Headers {
		g, w := got.Headers[i], want.Headers[i]
		if g.Key != w.Key || !bytes.Equal(g.Value, w.Value) || (g.Value == nil) != (w.Value == nil) {
			t.Errorf("header %d: got %q=%q, want %q=%q", i, g.Key, g.Value, w.Key, w.Value)
		}
	}
}

func TestJSONShape(t *testing.T) {
	ts := time.Date(2026, 11, 29, 3, 4, 5, 678_000_000, time.UTC)
	l := &Letter{
		Entry: Entry{
			Source: &kgo.Record{Topic: "payments", Partition: 3, Offset: 1234, Timestamp: ts, Key: []byte("player-1"), Value: []byte(`{"amount":5}`), Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte("deposit")}}},
			Reason: failure.Rejected, Message: "400: amount", Route: "deposits", Destination: "prod", Endpoint: "/events/deposit",
			Status: 400, APIError: []byte("bad gateway"), Attempts: 1, FailedAt: ts, EventID: "e-1", Version: "v1",
		},
		Partition: 0, Offset: 12, Timestamp: ts, Record: &kgo.Record{Topic: "relay.dlq"},
	}
	want := `{"dlq":{"topic":"relay.dlq","partition":0,"offset":12,"timestamp":"2026-11-29T03:04:05.678Z"},"reason":"rejected","error":"400: amount","route":"deposits","destination":"prod","endpoint":"/events/deposit","http_status":400,"api_error":"bad gateway","attempts":1,"failed_at":"2026-11-29T03:04:05.678Z","event_id":"e-1","replays":0,"replay_run":"","version":"v1","source":{"topic":"payments","partition":3,"offset":1234,"timestamp":"2026-11-29T03:04:05.678Z","key":"player-1","headers":[{"key":"ce_type","value":"deposit"}],"value":{"amount":5}}}` + "\n"
	if got := string(AppendJSON(nil, l)); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestJSONUnreadable(t *testing.T) {
	raw := &kgo.Record{Topic: "relay.dlq", Partition: 1, Offset: 7, Key: []byte{0xff}, Value: []byte("garbage")}
	l := &Letter{Partition: 1, Offset: 7, Err: ErrNotDeadLetter, Record: raw}
	line := AppendJSON(nil, l)
	for _, w := range []string{`"unreadable":"dlq: not a dead letter"`, `"key_base64":"/w=="`, `"value":"garbage"`} {
		if !strings.Contains(string(line), w) {
			t.Errorf("%s lacks %s", line, w)
		}
	}
	if IsLetterJSON(line) {
		t.Errorf("IsLetterJSON(unreadable) = true")
	}
	if _, err := DecodeRecord(line); !errors.Is(err, ErrBadJSON) {
		t.Errorf("DecodeRecord(unreadable): got %v, want ErrBadJSON", err)
	}
}

func TestDecodeFlatRecord(t *testing.T) {
	tests := []struct {
		line    string
		want    *kgo.Record
		wantErr bool
	}{
		{`{"topic":"players","partition":2,"offset":9,"timestamp":"2026-01-01T00:00:00.5Z","key":"p-1","headers":[{"key":"h","value":"v"}],"value":{"a": 1}}`,
			&kgo.Record{Topic: "players", Partition: 2, Offset: 9, Timestamp: time.Date(2026, 1, 1, 0, 0, 0, 500_000_000, time.UTC), Key: []byte("p-1"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}, Value: []byte(`{"a": 1}`)}, false},
		{`{"topic":"t","value":"{\"a\":1}"}`, &kgo.Record{Topic: "t", Value: []byte(`{"a":1}`)}, false},
		{`{"topic":"t","key_base64":"AAE=","value":42}`, &kgo.Record{Topic: "t", Key: []byte{0, 1}, Value: []byte("42")}, false},
		{`{"topic":"t","timestamp":"yesterday"}`, nil, true},
		{`{"topic":"t","key_base64":"!!"}`, nil, true},
		{`not json`, nil, true},
		{`{"reason":"invalid"}`, nil, true},
	}
	for _, tt := range tests {
		got, err := DecodeRecord([]byte(tt.line))
		if tt.wantErr {
			if !errors.Is(err, ErrBadJSON) {
				t.Errorf("DecodeRecord(%s): got %v, want ErrBadJSON", tt.line, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("DecodeRecord(%s): %v", tt.line, err)
			continue
		}
		if !reflect.DeepEqual(got.Headers, tt.want.Headers) && len(tt.want.Headers) > 0 {
			t.Errorf("DecodeRecord(%s): got headers %q, want %q", tt.line, got.Headers, tt.want.Headers)
		}
		checkRecord(t, got, tt.want)
	}
}

// BenchmarkJSON is one letter of relay dlq inspect --output json and its
// way back through relay map test.
func BenchmarkJSON(b *testing.B) {
	value := []byte(`{"event_id":"pay_z8o7n8","type":"deposit.completed","status":"DEPOSIT_FIRST","player_id":"100005","created_at":"2024-12-31T19:00:08.119-05:00","txn_id":"txn_103cvck","amount_minor":25000,"currency":"CAD","method":"CARD","psp":{"id":"psp_02","name":"Skrill"}}`)
	l := &Letter{
		Entry: Entry{
			Source: &kgo.Record{Topic: "payments", Partition: 3, Offset: 1234, Timestamp: time.Now(), Key: []byte("100005"), Value: value,
				Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte("deposit")}}},
			Reason: failure.Rejected, Message: "optikpi: 400", Route: "deposits", Endpoint: "/events/deposit", Status: 400,
			APIError: []byte(`{"error":"ValidationError"}`), Attempts: 1, FailedAt: time.Now(),
		},
		Record: &kgo.Record{Topic: "relay.dlq"},
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendJSON(buf[:0], l)
		if _, err := DecodeRecord(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

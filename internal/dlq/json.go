package dlq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The JSON line of a dead letter is one object, for jq and for the tools
// that read it back (relay map test). It is lossless for the original
// record: DecodeRecord gives back its exact key, value and header bytes.
//
//   - A value that is a compact JSON object or array, valid UTF-8, is
//     embedded as JSON, byte for byte; any other value (and every key and
//     header value) is a JSON string, or, when not valid UTF-8, base64 in
//     a sibling field named with the suffix "_base64" ("value_base64",
//     "key_base64") while the field itself is absent.
//   - Optikpi's error body is embedded compacted when it is JSON: it is
//     there to be read, and no record is made from it.
//   - A nil key, value or header value (a Kafka null) is JSON null; an
//     empty one is "".
//   - A letter that could not be read ("unreadable": the error) carries the
//     dead letter itself as "record", in the same flat form as "source".

// ErrBadJSON is returned by DecodeRecord for a line it cannot read.
var ErrBadJSON = errors.New("dlq: not a record's JSON line")

type jsonLetter struct {
	DLQ         jsonPlace       `json:"dlq"`
	Unreadable  string          `json:"unreadable,omitempty"`
	Record      *jsonRecord     `json:"record,omitempty"`
	Reason      string          `json:"reason,omitempty"`
	Error       *string         `json:"error,omitempty"`
	Route       string          `json:"route,omitempty"`
	Output      string          `json:"output,omitempty"`
	Destination string          `json:"destination,omitempty"`
	Endpoint    string          `json:"endpoint,omitempty"`
	HTTPStatus  int             `json:"http_status,omitempty"`
	APIError    json.RawMessage `json:"api_error,omitempty"`
	APIError64  []byte          `json:"api_error_base64,omitempty"`
	Attempts    *int            `json:"attempts,omitempty"`
	FailedAt    string          `json:"failed_at,omitempty"`
	EventID     string          `json:"event_id,omitempty"`
	Replays     *int            `json:"replays,omitempty"`
	ReplayRun   *string         `json:"replay_run,omitempty"`
	Version     string          `json:"version,omitempty"`
	Source      *jsonRecord     `json:"source,omitempty"`
}

type jsonPlace struct {
	Topic     string `json:"topic,omitempty"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Timestamp string `json:"timestamp"`
}

// jsonRecord is a Kafka record, the flat record object DecodeRecord reads.
type jsonRecord struct {
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Timestamp string          `json:"timestamp,omitempty"`
	Key       json.RawMessage `json:"key,omitempty"`
	Key64     []byte          `json:"key_base64,omitempty"`
	Headers   []jsonHeader    `json:"headers"`
	Value     json.RawMessage `json:"value,omitempty"`
	Value64   []byte          `json:"value_base64,omitempty"`
}

type jsonHeader struct {
	Key     string          `json:"key"`
	Key64   []byte          `json:"key_base64,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
	Value64 []byte          `json:"value_base64,omitempty"`
}

var jsonNull = json.RawMessage("null")

// AppendJSON appends l as one line of JSON, ending in '\n'.
func AppendJSON(dst []byte, l *Letter) []byte {
	j := jsonLetter{DLQ: jsonPlace{Partition: l.Partition, Offset: l.Offset, Timestamp: formatTime(l.Timestamp)}}
	if l.Record != nil {
		j.DLQ.Topic = l.Record.Topic
	}
	if l.Err != nil {
		j.Unreadable = l.Err.Error()
		if l.Record != nil {
			j.Record = newJSONRecord(l.Record)
		}
		return appendLine(dst, &j)
	}
	e := &l.Entry
	j.Reason = string(e.Reason)
	j.Error = &e.Message
	j.Route, j.Output, j.Destination, j.Endpoint = e.Route, e.Output, e.Destination, e.Endpoint
	j.HTTPStatus = e.Status
	if len(e.APIError) > 0 {
		j.APIError, j.APIError64 = apiErrorJSON(e.APIError)
	}
	j.Attempts = &e.Attempts
	if !e.FailedAt.IsZero() {
		j.FailedAt = formatTime(e.FailedAt)
	}
	j.EventID = e.EventID
	j.Replays, j.ReplayRun = &e.Replays, &e.ReplayRun
	j.Version = e.Version
	if e.Source != nil {
		j.Source = newJSONRecord(e.Source)
	}
	return appendLine(dst, &j)
}

func appendLine(dst []byte, j *jsonLetter) []byte {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	// Unescaped, so an embedded value stays byte for byte what it was.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		// Cannot happen: every RawMessage is checked by bytesJSON.
		panic(fmt.Sprintf("dlq: encoding a letter: %v", err))
	}
	return buf.Bytes()
}

func newJSONRecord(r *kgo.Record) *jsonRecord {
	j := &jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Headers: []jsonHeader{}}
	if !r.Timestamp.IsZero() {
		j.Timestamp = formatTime(r.Timestamp)
	}
	j.Key, j.Key64 = bytesJSON(r.Key, false)
	j.Value, j.Value64 = bytesJSON(r.Value, true)
	for _, h := range r.Headers {
		jh := jsonHeader{Key: h.Key}
		if !utf8.ValidString(h.Key) {
			jh.Key, jh.Key64 = "", []byte(h.Key)
		}
		jh.Value, jh.Value64 = bytesJSON(h.Value, false)
		j.Headers = append(j.Headers, jh)
	}
	return j
}

// bytesJSON returns b as embedded JSON (when embed allows and b is a
// compact object or array), as a JSON string, or, when b is not valid
// UTF-8, as nil and b itself for the "_base64" field.
func bytesJSON(b []byte, embed bool) (json.RawMessage, []byte) {
	switch {
	case b == nil:
		return jsonNull, nil
	case !utf8.Valid(b):
		return nil, b
	case embed && isCompactJSON(b):
		return json.RawMessage(b), nil
	}
	s, _ := json.Marshal(string(b)) // valid UTF-8: exact
	return s, nil
}

// apiErrorJSON is bytesJSON for Optikpi's error body, which is read, not
// replayed: a JSON body is embedded compacted even when it was indented.
func apiErrorJSON(b []byte) (json.RawMessage, []byte) {
	t := bytes.TrimSpace(b)
	if len(t) > 0 && (t[0] == '{' || t[0] == '[') && utf8.Valid(t) {
		var c bytes.Buffer
		if json.Compact(&c, t) == nil { // Compact validates as it goes
			return c.Bytes(), nil
		}
	}
	return bytesJSON(b, false)
}

// isCompactJSON reports whether b is an object or array that compacting
// leaves as it is, so the encoder embeds it unchanged.
func isCompactJSON(b []byte) bool {
	if len(b) == 0 || b[0] != '{' && b[0] != '[' {
		return false
	}
	// Compact validates as it goes.
	var c bytes.Buffer
	c.Grow(len(b))
	return json.Compact(&c, b) == nil && bytes.Equal(c.Bytes(), b)
}

// IsLetterJSON reports whether line is the JSON line of a readable dead
// letter: an object with a "reason" and a "source" object.
func IsLetterJSON(line []byte) bool {
	if !gjson.ValidBytes(line) {
		return false
	}
	r := gjson.ParseBytes(line)
	return r.IsObject() && r.Get("reason").Exists() && r.Get("source").IsObject()
}

// DecodeRecord reads a line written by AppendJSON, giving its original
// record (its "source"), or a flat record object {"topic", "partition",
// "offset", "timestamp", "key", "headers", "value"}. The key, value and
// headers are the exact original bytes. An error wraps ErrBadJSON.
func DecodeRecord(line []byte) (*kgo.Record, error) {
	var j jsonLetter
	if err := json.Unmarshal(line, &j); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadJSON, err)
	}
	jr := j.Source
	switch {
	case j.Unreadable != "":
		return nil, fmt.Errorf("%w: an unreadable dead letter (%s) has no original record", ErrBadJSON, j.Unreadable)
	case jr == nil && j.Reason != "":
		return nil, fmt.Errorf("%w: a dead letter without \"source\"", ErrBadJSON)
	case jr == nil:
		jr = new(jsonRecord)
		if err := json.Unmarshal(line, jr); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadJSON, err)
		}
	}
	return jr.record()
}

func (j *jsonRecord) record() (*kgo.Record, error) {
	r := &kgo.Record{Topic: j.Topic, Partition: j.Partition, Offset: j.Offset}
	var err error
	if j.Timestamp != "" {
		if r.Timestamp, err = time.Parse(time.RFC3339Nano, j.Timestamp); err != nil {
			return nil, fmt.Errorf("%w: timestamp: %w", ErrBadJSON, err)
		}
	}
	if r.Key, err = fromJSON("key", j.Key, j.Key64); err != nil {
		return nil, err
	}
	if r.Value, err = fromJSON("value", j.Value, j.Value64); err != nil {
		return nil, err
	}
	for i, h := range j.Headers {
		hk := h.Key
		if h.Key64 != nil {
			hk = string(h.Key64)
		}
		v, err := fromJSON(fmt.Sprintf("headers[%d].value", i), h.Value, h.Value64)
		if err != nil {
			return nil, err
		}
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: hk, Value: v})
	}
	return r, nil
}

// fromJSON undoes bytesJSON. An absent field is nil, as null is.
func fromJSON(name string, raw json.RawMessage, b64 []byte) ([]byte, error) {
	if b64 != nil {
		return b64, nil
	}
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, nil
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadJSON, name, err)
		}
		return []byte(s), nil
	}
	// An object or array, or a number or boolean someone wrote in a flat
	// record: the bytes as written.
	return bytes.Clone(raw), nil
}

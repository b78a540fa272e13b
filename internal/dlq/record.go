package dlq

import (
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/twmb/franz-go/pkg/kgo"
)

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// record builds the dead letter for e, written to topic by version.
func record(topic, version string, e Entry) *kgo.Record {
	src := e.Source
	failedAt := e.FailedAt
	if failedAt.IsZero() {
		failedAt = time.Now()
	}
	hs := make([]kgo.RecordHeader, 0, len(src.Headers)+20)
	key := src.Key
	if e.KeyHeadersOmitted {
		key = nil
	} else {
		hs = append(hs, src.Headers...)
	}
	add := func(k, v string) { hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
	add(HeaderReason, string(e.Reason))
	add(HeaderError, truncate(e.Message, MaxMessageBytes))
	add(HeaderTopic, src.Topic)
	add(HeaderPartition, strconv.FormatInt(int64(src.Partition), 10))
	add(HeaderOffset, strconv.FormatInt(src.Offset, 10))
	add(HeaderTimestamp, formatTime(src.Timestamp))
	for _, h := range []struct{ k, v string }{
		{HeaderEventID, e.EventID},
		{HeaderRoute, e.Route},
		{HeaderOutput, e.Output},
		{HeaderDestination, e.Destination},
		{HeaderEndpoint, e.Endpoint},
	} {
		if h.v != "" {
			add(h.k, h.v)
		}
	}
	if e.Status != 0 {
		add(HeaderHTTPStatus, strconv.Itoa(e.Status))
	}
	if len(e.APIError) > 0 {
		hs = append(hs, kgo.RecordHeader{Key: HeaderAPIError, Value: slices.Clone(e.APIError[:min(len(e.APIError), MaxAPIErrorBytes)])})
	}
	add(HeaderAttempts, strconv.Itoa(e.Attempts))
	add(HeaderFailedAt, formatTime(failedAt))
	if e.Replays > 0 {
		add(HeaderReplays, strconv.Itoa(e.Replays))
	}
	if e.ReplayRun != "" {
		add(HeaderReplayRun, e.ReplayRun)
	}
	if version != "" {
		add(HeaderVersion, version)
	}
	value := src.Value
	if e.ValueOmitted {
		value = nil
		add(HeaderValueOmitted, ValueOmittedTooLarge)
		add(HeaderValueBytes, strconv.Itoa(e.ValueBytes))
	}
	if e.KeyHeadersOmitted {
		add(HeaderKeyHeadersOmitted, ValueOmittedTooLarge)
	}
	return &kgo.Record{
		Topic:     topic,
		Key:       key,
		Value:     value,
		Headers:   hs,
		Timestamp: failedAt,
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		if r != utf8.RuneError || size > 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}

// Parse reads a dead letter back: Source holds the original key, value,
// headers, topic, partition, offset and timestamp, and every other field
// of the Entry is filled from the relay's headers. The relay's headers
// start at the last HeaderReason, so a dead letter of a dead letter keeps
// the first one's headers among its originals.
func Parse(r *kgo.Record) (Entry, error) {
	start := -1
	for i, h := range r.Headers {
		if h.Key == HeaderReason {
			start = i
		}
	}
	if start < 0 {
		return Entry{}, ErrNotDeadLetter
	}
	src := &kgo.Record{
		Key:     r.Key,
		Value:   r.Value,
		Headers: slices.Clone(r.Headers[:start]),
	}
	e := Entry{Source: src}
	var err error
	num := func(k, v string, bits int) int64 {
		n, perr := strconv.ParseInt(v, 10, bits)
		if perr != nil && err == nil {
			err = fmt.Errorf("%w: %s: %w", ErrMalformed, k, perr)
		}
		return n
	}
	tm := func(k, v string) time.Time {
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil && err == nil {
			err = fmt.Errorf("%w: %s: %w", ErrMalformed, k, perr)
		}
		return t
	}
	for _, h := range r.Headers[start:] {
		v := string(h.Value)
		switch h.Key {
		case HeaderReason:
			e.Reason = failure.Reason(v)
		case HeaderError:
			e.Message = v
		case HeaderTopic:
			src.Topic = v
		case HeaderPartition:
			src.Partition = int32(num(h.Key, v, 32))
		case HeaderOffset:
			src.Offset = num(h.Key, v, 64)
		case HeaderTimestamp:
			src.Timestamp = tm(h.Key, v)
		case HeaderRoute:
			e.Route = v
		case HeaderOutput:
			e.Output = v
		case HeaderDestination:
			e.Destination = v
		case HeaderEndpoint:
			e.Endpoint = v
		case HeaderHTTPStatus:
			e.Status = int(num(h.Key, v, 32))
		case HeaderAPIError:
			e.APIError = slices.Clone(h.Value)
		case HeaderAttempts:
			e.Attempts = int(num(h.Key, v, 32))
		case HeaderFailedAt:
			e.FailedAt = tm(h.Key, v)
		case HeaderVersion:
			e.Version = v
		case HeaderEventID:
			e.EventID = v
		case HeaderReplays:
			e.Replays = int(num(h.Key, v, 32))
		case HeaderReplayRun:
			e.ReplayRun = v
		case HeaderValueOmitted:
			e.ValueOmitted = true
		case HeaderValueBytes:
			e.ValueBytes = int(num(h.Key, v, 64))
		case HeaderKeyHeadersOmitted:
			e.KeyHeadersOmitted = true
		}
	}
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

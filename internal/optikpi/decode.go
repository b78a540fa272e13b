package optikpi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrMalformedBody is matched by every error of DecodeRecords.
var ErrMalformedBody = errors.New("optikpi: malformed request body")

// DecodeRecords parses a request body as the API does: one JSON object, or an
// array of objects (possibly empty). Numbers become json.Number, so their
// text survives. Anything else is an error matching ErrMalformedBody.
func DecodeRecords(body []byte) ([]Record, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%w: empty body", ErrMalformedBody)
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformedBody, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrMalformedBody)
	}
	switch x := v.(type) {
	case map[string]any:
		return []Record{x}, nil
	case []any:
		out := make([]Record, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: element %d of the array is %s, not an object", ErrMalformedBody, i, jsonKind(e))
			}
			out[i] = m
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: want an object or an array of objects, got %s", ErrMalformedBody, jsonKind(v))
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

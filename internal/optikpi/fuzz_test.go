package optikpi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
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

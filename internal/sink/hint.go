package sink

import (
	"regexp"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// The guide defines no way for the API to name the record it refused, so
// every plausible one is read; the first that names one of the batch's
// records wins, and without one the batch is bisected. Indexes count from
// 0, the batch's JSON array positions, as the emulator's "[i].field" does.

// indexKeys are the error body's numeric index fields, in order of trust.
var indexKeys = []string{
	"details.index", "details.record_index", "details.recordIndex",
	"index", "record_index", "recordIndex",
}

// indexText finds an index in the error's text: "[3].amount" at the start
// or after a space or quote, "records[3]", "record[3]", "record 3",
// "record #3" and "index 3". A bracket right after a word ("tags[0]") is a
// field's own array, not a record.
var indexText = regexp.MustCompile(`(?i)(?:^|[\s"'(:,])\[(\d+)\]|\brecords?\s*\[\s*(\d+)\s*\]|\b(?:record|index)\s*(?:#|no\.?|number)?\s*[:=]?\s*(\d+)\b`)

// badIndex returns the index i of the record the API's answer names, if it
// names one of n records.
func badIndex(oe *optikpi.Error, n int) (int, bool) {
	if oe.API == nil {
		return 0, false // not the API's answer: it names nothing
	}
	for _, k := range indexKeys {
		v := gjson.GetBytes(oe.Body, k)
		switch {
		case !v.Exists():
			continue
		case v.Type == gjson.Number:
			if f := v.Float(); f == float64(int(f)) {
				return inRange(int(f), n)
			}
		case v.Type == gjson.String:
			if i, err := strconv.Atoi(v.Str); err == nil {
				return inRange(i, n)
			}
		}
	}
	for _, text := range []string{oe.API.Details.Field, oe.API.Message, oe.API.Details.Issue, oe.API.Error} {
		m := indexText.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		for _, g := range m[1:] {
			if g != "" {
				i, err := strconv.Atoi(g)
				if err != nil {
					return 0, false // too many digits for any batch
				}
				return inRange(i, n)
			}
		}
	}
	return 0, false
}

func inRange(i, n int) (int, bool) {
	if i < 0 || i >= n {
		return 0, false
	}
	return i, true
}

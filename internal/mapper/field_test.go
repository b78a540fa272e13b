package mapper

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/config"
)

func intp(i int) *int { return &i }

// show prints a record value with its Go type, so that "5" and 5 differ.
func show(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case json.Number:
		return "number " + string(x)
	case json.RawMessage:
		return "raw " + string(x)
	case nil:
		return "missing"
	}
	return fmt.Sprintf("%T %v", v, v)
}

func TestFieldRules(t *testing.T) {
	tests := []struct {
		name  string
		rule  config.FieldRule
		value string // the record's JSON value
		want  string // show() of the result, or "error: <substring>"
	}{
		// Sources.
		{"path string", config.FieldRule{Path: "a.b"}, `{"a":{"b":"x"}}`, `string "x"`},
		{"path number keeps text", config.FieldRule{Path: "n"}, `{"n":10.50}`, "number 10.50"},
		{"path bool", config.FieldRule{Path: "ok"}, `{"ok":true}`, "bool true"},
		{"path object", config.FieldRule{Path: "o"}, `{"o":{"k":[1,2]}}`, `raw {"k":[1,2]}`},
		{"path array index", config.FieldRule{Path: "items.1.sku"}, `{"items":[{"sku":"a"},{"sku":"b"}]}`, `string "b"`},
		{"path array count", config.FieldRule{Path: "items.#"}, `{"items":[1,2,3]}`, "number 3"},
		{"path query", config.FieldRule{Path: `bets.#(won==true).amount`}, `{"bets":[{"won":false,"amount":1},{"won":true,"amount":7}]}`, "number 7"},
		{"path missing", config.FieldRule{Path: "nope"}, `{"a":1}`, "missing"},
		{"path null is missing", config.FieldRule{Path: "a"}, `{"a":null}`, "missing"},
		{"default when missing", config.FieldRule{Path: "nope", Default: "d"}, `{}`, `string "d"`},
		{"default when null", config.FieldRule{Path: "a", Default: 0}, `{"a":null}`, "number 0"},
		{"default not used when present", config.FieldRule{Path: "a", Default: "d"}, `{"a":"x"}`, `string "x"`},
		{"const string", config.FieldRule{Const: "Balance Update"}, `{}`, `string "Balance Update"`},
		{"const int", config.FieldRule{Const: 5}, `{}`, "number 5"},
		{"const float", config.FieldRule{Const: 2.5}, `{}`, "number 2.5"},
		{"const bool", config.FieldRule{Const: true}, `{}`, "bool true"},
		{"const object", config.FieldRule{Const: map[string]any{"email": true}}, `{}`, `raw {"email":true}`},
		{"template", config.FieldRule{Template: "${f} ${l}"}, `{"f":"Ann","l":"Lee"}`, `string "Ann Lee"`},
		{"template number", config.FieldRule{Template: "every ${m} minutes"}, `{"m":30}`, `string "every 30 minutes"`},
		{"template one missing", config.FieldRule{Template: "${f} ${l}"}, `{"f":"Ann"}`, `string "Ann"`},
		{"template all missing", config.FieldRule{Template: "${f} ${l}"}, `{}`, "missing"},
		{"template all missing with default", config.FieldRule{Template: "${f} ${l}", Default: "anon"}, `{}`, `string "anon"`},
		{"meta key", config.FieldRule{Meta: "key"}, `{}`, `string "player-1"`},
		{"meta topic", config.FieldRule{Meta: "topic"}, `{}`, `string "t"`},
		{"meta partition", config.FieldRule{Meta: "partition"}, `{}`, "number 3"},
		{"meta offset", config.FieldRule{Meta: "offset"}, `{}`, "number 42"},
		{"meta timestamp", config.FieldRule{Meta: "timestamp"}, `{}`, `string "2024-01-15T10:30:00Z"`},
		{"meta header", config.FieldRule{Meta: "header:brand"}, `{}`, `string "lucky"`},
		{"meta header missing", config.FieldRule{Meta: "header:nope"}, `{}`, "missing"},

		// template_json: values outside quotes as JSON, inside escaped.
		{"template_json quote in a value", config.FieldRule{TemplateJSON: `{"name": ${n}, "note": "by ${n}"}`}, `{"n":"Ann \"Lucky\" O'Neil \\ x"}`, `raw {"name": "Ann \"Lucky\" O'Neil \\ x", "note": "by Ann \"Lucky\" O'Neil \\ x"}`},
		{"template_json control characters", config.FieldRule{TemplateJSON: `{"a": "<${s}>", "b": ${s}}`}, `{"s":"line\nnext\ttab\u0001"}`, `raw {"a": "<line\nnext\ttab\u0001>", "b": "line\nnext\ttab\u0001"}`},
		{"template_json kinds outside quotes", config.FieldRule{TemplateJSON: `{"seq":${seq},"ok":${ok},"o":${o},"l":${l},"gone":${gone}}`}, `{"seq":12.50,"ok":true,"o":{"k":"v"},"l":[1, "two"]}`, `raw {"seq":12.50,"ok":true,"o":{"k":"v"},"l":[1, "two"],"gone":null}`},
		{"template_json kinds inside quotes", config.FieldRule{TemplateJSON: `["${seq}", "${o}", "${gone}"]`}, `{"seq":12.50,"o":{"k":"v\"q"}}`, `raw ["12.50", "{\"k\":\"v\\\"q\"}", ""]`},
		{"template_json escaped quote in the template", config.FieldRule{TemplateJSON: `{"a": "say \"${w}\"", "b": ${w}}`}, `{"w":"hi"}`, `raw {"a": "say \"hi\"", "b": "hi"}`},
		{"template_json all missing", config.FieldRule{TemplateJSON: `{"a": ${x}}`}, `{}`, "missing"},
		{"template_json all missing, default", config.FieldRule{TemplateJSON: `{"a": ${x}}`, Default: map[string]any{}}, `{}`, "raw {}"},
		{"template_json, json_string", config.FieldRule{TemplateJSON: `{"a": ${x}}`, Transform: config.Names{"json_string"}}, `{"x":"q\""}`, `string "{\"a\":\"q\\\"\"}"`},
		{"template_json gjson multipath instead", config.FieldRule{Path: `{seq,"updated_at":at}`}, `{"seq":3,"at":"2024-01-15","other":1}`, `raw {"seq":3,"updated_at":"2024-01-15"}`},

		// Value maps.
		{"map", config.FieldRule{Path: "s", Map: map[string]any{"DEPOSIT_OK": "Successful Deposit"}}, `{"s":"DEPOSIT_OK"}`, `string "Successful Deposit"`},
		{"map number key", config.FieldRule{Path: "l", Map: map[string]any{"1": "VIP"}}, `{"l":1}`, `string "VIP"`},
		{"map bool key", config.FieldRule{Path: "b", Map: map[string]any{"true": "Verified"}}, `{"b":true}`, `string "Verified"`},
		{"map fallback", config.FieldRule{Path: "s", Map: map[string]any{"A": "a"}, Fallback: "other"}, `{"s":"Z"}`, `string "other"`},
		{"map keep unmapped", config.FieldRule{Path: "s", Map: map[string]any{"A": "a"}, KeepUnmapped: true}, `{"s":"Z"}`, `string "Z"`},
		{"map unmapped", config.FieldRule{Path: "s", Map: map[string]any{"A": "a"}}, `{"s":"Z"}`, `error: map: no mapping for "Z" and no fallback`},
		{"map object", config.FieldRule{Path: "s", Map: map[string]any{"A": "a"}}, `{"s":{}}`, "error: map: want a string, number or boolean"},
		{"map then transform", config.FieldRule{Path: "s", Map: map[string]any{"y": "1"}, Transform: config.Names{"boolean"}}, `{"s":"y"}`, "bool true"},

		// Step order: transform_before, map, transform.
		{"transform_before then map", config.FieldRule{Path: "s", TransformBefore: config.Names{"trim", "lower"}, Map: map[string]any{"ok": "Successful Deposit"}}, `{"s":" OK "}`, `string "Successful Deposit"`},
		{"without transform_before, map sees OK", config.FieldRule{Path: "s", Map: map[string]any{"ok": "Successful Deposit"}}, `{"s":"OK"}`, `error: map: no mapping for "OK" and no fallback`},
		{"transform runs after map", config.FieldRule{Path: "s", Map: map[string]any{"OK": "Successful Deposit"}, Transform: config.Names{"lower"}}, `{"s":"OK"}`, `string "successful deposit"`},
		{"before, map and after", config.FieldRule{Path: "s", TransformBefore: config.Names{"upper"}, Map: map[string]any{"OK": "done"}, Transform: config.Names{"upper"}}, `{"s":"ok"}`, `string "DONE"`},
		{"number to string before map", config.FieldRule{Path: "n", TransformBefore: config.Names{"integer"}, Map: map[string]any{"2": "VIP"}}, `{"n":2.0}`, `string "VIP"`},
		{"transform_before fails", config.FieldRule{Path: "s", TransformBefore: config.Names{"lower"}, Map: map[string]any{"ok": "x"}}, `{"s":5}`, "error: lower: want a string, got 5"},
		{"transform_before skips default", config.FieldRule{Path: "s", TransformBefore: config.Names{"lower"}, Map: map[string]any{"ok": "x"}, Default: "NONE"}, `{}`, `string "NONE"`},

		// first_of.
		{"first_of first", config.FieldRule{FirstOf: config.Names{"uid", "player.uid"}}, `{"uid":"a","player":{"uid":"b"}}`, `string "a"`},
		{"first_of second when first missing", config.FieldRule{FirstOf: config.Names{"uid", "player.uid"}}, `{"player":{"uid":"b"}}`, `string "b"`},
		{"first_of second when first null", config.FieldRule{FirstOf: config.Names{"uid", "player.uid"}}, `{"uid":null,"player":{"uid":7}}`, "number 7"},
		{"first_of empty string is present", config.FieldRule{FirstOf: config.Names{"uid", "player.uid"}}, `{"uid":"","player":{"uid":"b"}}`, `string ""`},
		{"first_of none", config.FieldRule{FirstOf: config.Names{"uid", "player.uid"}}, `{"player":{}}`, "missing"},
		{"first_of none, default", config.FieldRule{FirstOf: config.Names{"uid", "player.uid"}, Default: "anon"}, `{}`, `string "anon"`},
		{"first_of then transform", config.FieldRule{FirstOf: config.Names{"a", "b"}, Transform: config.Names{"string"}}, `{"b":10023}`, `string "10023"`},

		// Times.
		{"unix_seconds", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":1705314600}`, `string "2024-01-15T10:30:00Z"`},
		{"unix_seconds fraction", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":1705314600.1234}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_seconds string", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":"1705314600"}`, `string "2024-01-15T10:30:00Z"`},
		{"unix_seconds exponent", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":1.7053146e9}`, `string "2024-01-15T10:30:00Z"`},
		{"unix_seconds negative", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":-86400.5}`, `string "1969-12-30T23:59:59.500Z"`},
		{"unix_seconds not a number", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":"yesterday"}`, `error: unix_seconds: want a number, got "yesterday"`},
		{"unix_seconds too far", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":999999999999999}`, "error: unix_seconds: 999999999999999 is outside the years 0001 to 9999"},
		{"unix_seconds overflow", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":99999999999999999999}`, "error: unix_seconds: 99999999999999999999 is out of range"},
		{"unix_millis", config.FieldRule{Path: "t", Transform: config.Names{"unix_millis"}}, `{"t":1705314600123}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_millis whole second", config.FieldRule{Path: "t", Transform: config.Names{"unix_millis"}}, `{"t":1705314600000}`, `string "2024-01-15T10:30:00Z"`},
		{"unix_millis bool", config.FieldRule{Path: "t", Transform: config.Names{"unix_millis"}}, `{"t":true}`, "error: unix_millis: want a number, got true"},
		{"unix_micros", config.FieldRule{Path: "t", Transform: config.Names{"unix_micros"}}, `{"t":1705314600123456}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_micros string, fraction", config.FieldRule{Path: "t", Transform: config.Names{"unix_micros"}}, `{"t":"1705314600123999.9"}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_micros negative", config.FieldRule{Path: "t", Transform: config.Names{"unix_micros"}}, `{"t":-1500000}`, `string "1969-12-31T23:59:58.500Z"`},
		{"unix_nanos", config.FieldRule{Path: "t", Transform: config.Names{"unix_nanos"}}, `{"t":1705314600123456789}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_nanos exponent", config.FieldRule{Path: "t", Transform: config.Names{"unix_nanos"}}, `{"t":1.7053146e18}`, `string "2024-01-15T10:30:00Z"`},
		{"unix_nanos beyond int64", config.FieldRule{Path: "t", Transform: config.Names{"unix_nanos"}}, `{"t":99999999999999999999}`, "error: unix_nanos: 99999999999999999999 is out of range as epoch nanoseconds"},
		{"micros under unix_millis", config.FieldRule{Path: "t", Transform: config.Names{"unix_millis"}}, `{"t":1705314600123456}`,
			"error: unix_millis: 1705314600123456 is outside the years 0001 to 9999 as epoch milliseconds; as epoch microseconds it is 2024-01-15T10:30:00.123Z: use unix_micros, or unix_auto"},
		{"nanos under unix_seconds", config.FieldRule{Path: "t", Transform: config.Names{"unix_seconds"}}, `{"t":1705314600123456789}`,
			"error: unix_seconds: 1705314600123456789 is outside the years 0001 to 9999 as epoch seconds; as epoch nanoseconds it is 2024-01-15T10:30:00.123Z: use unix_nanos, or unix_auto"},
		{"millis under unix_micros: no wrong hint", config.FieldRule{Path: "t", Transform: config.Names{"unix_micros"}}, `{"t":1705314600123}`, `string "1970-01-20T17:41:54.600Z"`},
		{"unix_auto seconds", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":1705314600}`, `string "2024-01-15T10:30:00Z"`},
		{"unix_auto seconds below 1e11", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":99999999999}`, `string "5138-11-16T09:46:39Z"`},
		{"unix_auto millis from 1e11", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":100000000000}`, `string "1973-03-03T09:46:40Z"`},
		{"unix_auto millis", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":"1705314600123"}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_auto micros from 1e14", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":100000000000000}`, `string "1973-03-03T09:46:40Z"`},
		{"unix_auto micros", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":1705314600123456}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_auto nanos from 1e17", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":100000000000000000}`, `string "1973-03-03T09:46:40Z"`},
		{"unix_auto nanos", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":1705314600123456789}`, `string "2024-01-15T10:30:00.123Z"`},
		{"unix_auto negative millis", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":-100000000000}`, `string "1966-10-31T14:13:20Z"`},
		{"unix_auto text", config.FieldRule{Path: "t", Transform: config.Names{"unix_auto"}}, `{"t":"2024-01-15T10:30:00Z"}`, `error: unix_auto: want an epoch number, got "2024-01-15T10:30:00Z"`},
		{"timestamp micros", config.FieldRule{Path: "t", Transform: config.Names{"timestamp"}}, `{"t":1705314600123456}`, `string "2024-01-15T10:30:00.123Z"`},
		{"rfc3339 offset to UTC", config.FieldRule{Path: "t", Transform: config.Names{"rfc3339"}}, `{"t":"2024-01-15T12:30:00+02:00"}`, `string "2024-01-15T10:30:00Z"`},
		{"rfc3339 negative offset, nanos", config.FieldRule{Path: "t", Transform: config.Names{"rfc3339"}}, `{"t":"2024-01-15T05:30:00.123456789-05:00"}`, `string "2024-01-15T10:30:00.123Z"`},
		{"rfc3339 Z", config.FieldRule{Path: "t", Transform: config.Names{"rfc3339"}}, `{"t":"2024-01-15T10:30:00Z"}`, `string "2024-01-15T10:30:00Z"`},
		{"rfc3339 without offset", config.FieldRule{Path: "t", Transform: config.Names{"rfc3339"}}, `{"t":"2024-01-15T10:30:00"}`, "error: rfc3339: \"2024-01-15T10:30:00\" is not an RFC 3339 time with an offset"},
		{"rfc3339 number", config.FieldRule{Path: "t", Transform: config.Names{"rfc3339"}}, `{"t":17}`, "error: rfc3339: want an RFC 3339 time string, got 17"},
		{"timestamp seconds", config.FieldRule{Path: "t", Transform: config.Names{"timestamp"}}, `{"t":1705314600}`, `string "2024-01-15T10:30:00Z"`},
		{"timestamp millis", config.FieldRule{Path: "t", Transform: config.Names{"timestamp"}}, `{"t":1705314600123}`, `string "2024-01-15T10:30:00.123Z"`},
		{"timestamp string", config.FieldRule{Path: "t", Transform: config.Names{"timestamp"}}, `{"t":"2024-01-15T11:30:00+01:00"}`, `string "2024-01-15T10:30:00Z"`},
		{"timestamp object", config.FieldRule{Path: "t", Transform: config.Names{"timestamp"}}, `{"t":{}}`, "error: timestamp: want epoch seconds, epoch milliseconds or an RFC 3339 time"},
		{"time_layout", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", Timezone: "Europe/Malta"}, `{"t":"2024-01-15 11:30:00"}`, `string "2024-01-15T10:30:00Z"`},
		{"time_layout UTC default", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "02/01/2006 15:04"}, `{"t":"15/01/2024 10:30"}`, `string "2024-01-15T10:30:00Z"`},
		{"time_layout mismatch", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02"}, `{"t":"15/01/2024"}`, `error: time_layout: "15/01/2024" does not match layout "2006-01-02"`},
		{"time_layout timezone_path", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", TimezonePath: "player.tz"}, `{"t":"2024-01-15 11:30:00","player":{"tz":"Europe/Malta"}}`, `string "2024-01-15T10:30:00Z"`},
		{"time_layout timezone_path offset", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", TimezonePath: "tz"}, `{"t":"2024-01-15 16:00:00","tz":"+05:30"}`, `string "2024-01-15T10:30:00Z"`},
		{"time_layout timezone_path missing, timezone", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", TimezonePath: "tz", Timezone: "Europe/Malta"}, `{"t":"2024-01-15 11:30:00"}`, `string "2024-01-15T10:30:00Z"`},
		{"time_layout timezone_path wins over timezone", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", TimezonePath: "tz", Timezone: "Europe/Malta"}, `{"t":"2024-01-15 10:30:00","tz":"UTC"}`, `string "2024-01-15T10:30:00Z"`},
		{"time_layout timezone_path missing", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", TimezonePath: "tz"}, `{"t":"2024-01-15 11:30:00","tz":null}`, "error: time_layout: no time zone at tz (set timezone for records without one)"},
		{"time_layout timezone_path unknown", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", TimezonePath: "tz"}, `{"t":"2024-01-15 11:30:00","tz":"Mars/Base"}`, `error: time_layout: at tz: unknown time zone "Mars/Base"`},
		{"time_layout timezone_path number", config.FieldRule{Path: "t", Transform: config.Names{"time_layout"}, Layout: "2006-01-02 15:04:05", TimezonePath: "tz"}, `{"t":"2024-01-15 11:30:00","tz":2}`, "error: time_layout: want a time zone name at tz, got 2"},
		{"date", config.FieldRule{Path: "d", Transform: config.Names{"date"}}, `{"d":"1990-05-15"}`, `string "1990-05-15"`},
		{"date from time keeps its day", config.FieldRule{Path: "d", Transform: config.Names{"date"}}, `{"d":"1990-05-15T00:30:00+02:00"}`, `string "1990-05-15"`},
		{"date invalid", config.FieldRule{Path: "d", Transform: config.Names{"date"}}, `{"d":"1990-02-30"}`, "error: date: \"1990-02-30\" is not a date"},
		{"date of year 0", config.FieldRule{Path: "d", Transform: config.Names{"date"}}, `{"d":"0000-01-01"}`, `string "0000-01-01"`},
		{"date from time of year 0", config.FieldRule{Path: "d", Transform: config.Names{"date"}}, `{"d":"0000-01-01T00:00:00Z"}`, "error: date: \"0000-01-01T00:00:00Z\" is not a date"},

		// Minor units.
		{"minor_units exponent", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":1050}`, "number 10.5"},
		{"minor_units whole", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":1000}`, "number 10"},
		{"minor_units small", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":5}`, "number 0.05"},
		{"minor_units negative", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":-150}`, "number -1.5"},
		{"minor_units zero", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":0}`, "number 0"},
		{"minor_units string", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":"1999"}`, "number 19.99"},
		{"minor_units huge exact", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":123456789012345678901}`, "number 1234567890123456789.01"},
		{"minor_units currency JPY", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Currency: "JPY"}, `{"a":1050}`, "number 1050"},
		{"minor_units currency_path KWD", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, CurrencyPath: "c"}, `{"a":1050,"c":"KWD"}`, "number 1.05"},
		{"minor_units currency_path lower case", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, CurrencyPath: "c"}, `{"a":1050,"c":"eur"}`, "number 10.5"},
		{"minor_units exponents override", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, CurrencyPath: "c", Exponents: map[string]int{"BTC": 8}}, `{"a":150000000,"c":"BTC"}`, "number 1.5"},
		{"minor_units unknown currency", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, CurrencyPath: "c"}, `{"a":1,"c":"XBT"}`, `error: minor_units: unknown currency "XBT" at c`},
		{"minor_units missing currency", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, CurrencyPath: "c"}, `{"a":1}`, "error: minor_units: want a currency code at c, got null"},
		{"minor_units fraction", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Exponent: intp(2)}, `{"a":10.5}`, "error: minor_units: want a whole number of minor units, got 10.5"},

		// Coercions.
		{"string from number", config.FieldRule{Path: "id", Transform: config.Names{"string"}}, `{"id":10023}`, `string "10023"`},
		{"string from bool", config.FieldRule{Path: "b", Transform: config.Names{"string"}}, `{"b":false}`, `string "false"`},
		{"string from object", config.FieldRule{Path: "o", Transform: config.Names{"string"}}, `{"o":{}}`, "error: string: want a string, number or boolean (json_string encodes objects)"},
		{"number from string", config.FieldRule{Path: "a", Transform: config.Names{"number"}}, `{"a":" 25.00 "}`, "number 25.00"},
		{"number from number", config.FieldRule{Path: "a", Transform: config.Names{"number"}}, `{"a":-1e3}`, "number -1e3"},
		{"number from comma decimal", config.FieldRule{Path: "a", Transform: config.Names{"number"}}, `{"a":"25,00"}`, `error: number: want a number or a string holding one, got "25,00"`},
		{"number too big", config.FieldRule{Path: "a", Transform: config.Names{"number"}}, `{"a":"1e999"}`, `error: number: "1e999" is out of range`},
		{"integer", config.FieldRule{Path: "a", Transform: config.Names{"integer"}}, `{"a":"50"}`, "number 50"},
		{"integer from 5.0", config.FieldRule{Path: "a", Transform: config.Names{"integer"}}, `{"a":5.0}`, "number 5"},
		{"integer fraction", config.FieldRule{Path: "a", Transform: config.Names{"integer"}}, `{"a":5.5}`, "error: integer: 5.5 is not a whole number"},
		{"boolean true", config.FieldRule{Path: "a", Transform: config.Names{"boolean"}}, `{"a":true}`, "bool true"},
		{"boolean yes", config.FieldRule{Path: "a", Transform: config.Names{"boolean"}}, `{"a":"Yes"}`, "bool true"},
		{"boolean N", config.FieldRule{Path: "a", Transform: config.Names{"boolean"}}, `{"a":"N"}`, "bool false"},
		{"boolean 0", config.FieldRule{Path: "a", Transform: config.Names{"boolean"}}, `{"a":0}`, "bool false"},
		{"boolean maybe", config.FieldRule{Path: "a", Transform: config.Names{"boolean"}}, `{"a":"maybe"}`, `error: boolean: want true/false, yes/no, on/off or 1/0, got "maybe"`},
		{"boolean 2", config.FieldRule{Path: "a", Transform: config.Names{"boolean"}}, `{"a":2}`, "error: boolean: want true/false"},

		// JSON fields.
		{"json_string object", config.FieldRule{Path: "o", Transform: config.Names{"json_string"}}, `{"o":{ "Email" : "True", "n": [1, 2] }}`, `string "{\"Email\":\"True\",\"n\":[1,2]}"`},
		{"json_string keeps JSON string", config.FieldRule{Path: "s", Transform: config.Names{"json_string"}}, `{"s":"{\"a\":1}"}`, `string "{\"a\":1}"`},
		{"json_string plain string", config.FieldRule{Path: "s", Transform: config.Names{"json_string"}}, `{"s":"hello"}`, `error: json_string: want an object, an array or a string holding JSON, got "hello"`},
		{"json_object from string", config.FieldRule{Path: "s", Transform: config.Names{"json_object"}}, `{"s":"{\"a\":1}"}`, `raw {"a":1}`},
		{"json_object keeps object", config.FieldRule{Path: "o", Transform: config.Names{"json_object"}}, `{"o":{"a":1}}`, `raw {"a":1}`},
		{"json_object array", config.FieldRule{Path: "s", Transform: config.Names{"json_object"}}, `{"s":"[1]"}`, "error: json_object: want an object or a string holding one"},
		{"json round trip", config.FieldRule{Path: "o", Transform: config.Names{"json_string", "json_object"}}, `{"o":{"a": 1}}`, `raw {"a":1}`},

		// Strings.
		{"lower", config.FieldRule{Path: "s", Transform: config.Names{"lower"}}, `{"s":"CARD"}`, `string "card"`},
		{"upper", config.FieldRule{Path: "s", Transform: config.Names{"upper"}}, `{"s":"eur"}`, `string "EUR"`},
		{"trim", config.FieldRule{Path: "s", Transform: config.Names{"trim"}}, `{"s":"  x "}`, `string "x"`},
		{"lower non-ASCII", config.FieldRule{Path: "s", Transform: config.Names{"lower"}}, `{"s":"ÉCOLE Card"}`, `string "école card"`},
		{"upper non-ASCII", config.FieldRule{Path: "s", Transform: config.Names{"upper"}}, `{"s":"école"}`, `string "ÉCOLE"`},
		{"template in the arena", config.FieldRule{Template: " ${a}-${b} ", Transform: config.Names{"upper"}}, `{"a":"x","b":2}`, `string "X-2"`},
		{"upper number", config.FieldRule{Path: "s", Transform: config.Names{"upper"}}, `{"s":1}`, "error: upper: want a string, got 1"},
		{"chain", config.FieldRule{Path: "s", Transform: config.Names{"trim", "upper"}}, `{"s":" eur "}`, `string "EUR"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, tt.value, evalRule(t, tt.rule, tt.value), tt.want)
		})
	}
}

// compileRule compiles rule as the field at key "fields.f" of a file
// "test": its problems are the error.
func compileRule(rule *config.FieldRule, pl *plan) (*field, error) {
	ps := (&config.Config{Source: "test"}).Problems()
	f := compileField(rule, "fields.f", pl, ps)
	return f, ps.Err()
}

// evalRule compiles rule and evaluates it on a record of value with a key,
// a header, coordinates and a timestamp: it returns show() of the result,
// "missing", or "error: " and the error.
func evalRule(t *testing.T, rule config.FieldRule, value string) string {
	t.Helper()
	rule.Target = "f"
	pl := newPlan()
	f, err := compileRule(&rule, pl)
	if err != nil {
		t.Fatalf("compileRule: %v", err)
	}
	rec := &kgo.Record{
		Topic: "t", Partition: 3, Offset: 42, Key: []byte("player-1"),
		Timestamp: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
		Headers:   []kgo.RecordHeader{{Key: "brand", Value: []byte("lucky")}},
		Value:     []byte(value),
	}
	v, ok, err := f.eval(newDoc(rec, pl))
	switch {
	case err != nil:
		return "error: " + err.Error()
	case !ok:
		return "missing"
	}
	return show(v)
}

// checkResult compares got, from evalRule, with want: "error: " and a part
// of the error, or all of got.
func checkResult(t *testing.T, value, got, want string) {
	t.Helper()
	if part, isErr := strings.CutPrefix(want, "error: "); isErr {
		if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, part) {
			t.Errorf("value %s: got %s, want an error containing %q", value, got, part)
		}
		return
	}
	if got != want {
		t.Errorf("value %s: got %s, want %s", value, got, want)
	}
}

func TestCompileFieldErrors(t *testing.T) {
	tests := []struct {
		name string
		rule config.FieldRule
		want string
	}{
		{"no source", config.FieldRule{}, "want exactly one of path, first_of, const, template, template_json, meta and expr"},
		{"first_of and path", config.FieldRule{Path: "a", FirstOf: config.Names{"b", "c"}}, "want exactly one of path, first_of, const, template, template_json, meta and expr"},
		{"unknown transform before map", config.FieldRule{Path: "a", Map: map[string]any{"x": "y"}, TransformBefore: config.Names{"epoch"}}, `test: fields.f.transform_before[0]: unknown transform "epoch" (want one of unix_seconds,`},
		{"two sources", config.FieldRule{Path: "a", Const: "b"}, "want exactly one of"},
		{"unknown transform", config.FieldRule{Path: "a", Transform: config.Names{"epoch"}}, `unknown transform "epoch"`},
		{"bad template", config.FieldRule{Template: "${a"}, "template: unclosed"},
		{"template_json not JSON", config.FieldRule{TemplateJSON: `{"a": ${x}`}, `template_json: not JSON with each ${path} outside quotes read as null: {"a": null: unexpected end of JSON input`},
		{"template_json path as a key", config.FieldRule{TemplateJSON: `{${k}: 1}`}, "template_json: not JSON"},
		{"template_json a string", config.FieldRule{TemplateJSON: `"${x}"`}, "template_json: want a JSON object or array"},
		{"template and template_json", config.FieldRule{Template: "${a}", TemplateJSON: `{"a": ${a}}`}, "want exactly one of path, first_of, const, template, template_json, meta and expr"},
		{"unknown meta", config.FieldRule{Meta: "size"}, `fields.f.meta: want key, topic, partition, offset, timestamp or header:NAME, got "size"`},
		{"minor units without exponent", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}}, "fields.f: minor_units needs exactly one of exponent, currency and currency_path"},
		{"unknown currency", config.FieldRule{Path: "a", Transform: config.Names{"minor_units"}, Currency: "XBT"}, `fields.f.currency: no known exponent for "XBT"; give exponent, or add it to exponents`},
		{"layout missing", config.FieldRule{Path: "a", Transform: config.Names{"time_layout"}}, `fields.f.layout: required by time_layout: a Go reference layout such as "2006-01-02 15:04:05"`},
		{"bad timezone", config.FieldRule{Path: "a", Transform: config.Names{"time_layout"}, Layout: "2006", Timezone: "Nowhere/City"}, `fields.f.timezone: unknown time zone "Nowhere/City"`},
		{"layout without elements", config.FieldRule{Path: "a", Transform: config.Names{"time_layout"}, Layout: "YYYY-MM-DD"}, `fields.f.layout: layout "YYYY-MM-DD" has no Go reference-time elements`},
	}
	for _, tt := range tests {
		_, err := compileRule(&tt.rule, newPlan())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// eval is value as an any, which the tables compare with.
func (f *field) eval(d *doc) (any, bool, error) {
	v, ok, err := f.value(d)
	if !ok || err != nil {
		return nil, ok, err
	}
	return v.Any(), true, nil
}

// TestMapped checks that a map: rule of any size finds what its map holds,
// by list up to smallMap entries and by map above, and nothing else.
func TestMapped(t *testing.T) {
	for n := 0; n <= smallMap+2; n++ {
		m := map[string]any{}
		for i := range n {
			m["K"+strconv.Itoa(i)] = "v" + strconv.Itoa(i)
		}
		f, err := compileRule(&config.FieldRule{Target: "f", Path: "s", Map: m}, newPlan())
		if err != nil {
			t.Fatalf("%d entries: %v", n, err)
		}
		if got, want := f.vkeys != nil, n > 0 && n <= smallMap; got != want {
			t.Errorf("%d entries: listed %v, want %v", n, got, want)
		}
		for i := range n + 1 {
			key := "K" + strconv.Itoa(i)
			got, gotOK := f.mapped(key)
			want, wantOK := f.vmap[key]
			if got != want || gotOK != wantOK || gotOK != (i < n) {
				t.Errorf("%d entries: mapped(%q) = %+v, %v; want %+v, %v", n, key, got, gotOK, want, wantOK)
			}
		}
	}
}

// TestDirectMatchesValue checks that mapRecord's way with a direct field,
// on every reference sample, gives what value gives it.
func TestDirectMatchesValue(t *testing.T) {
	m := exampleMapper(t, false)
	n := 0
	for topic, lines := range readSamples(t) {
		tr := m.byTopic[topic]
		if tr == nil {
			continue
		}
		for _, line := range lines {
			rec := &kgo.Record{Topic: topic, Value: line}
			d := newDoc(rec, tr.plan)
			for _, rt := range tr.routes {
				for _, o := range rt.outs {
					for _, f := range o.fields {
						if !f.direct {
							continue
						}
						got, gotOK := d.fromValue(f.path)
						if !gotOK {
							got, gotOK = f.def, f.hasDef
						}
						want, wantOK, err := f.value(d)
						if got != want || gotOK != wantOK || err != nil {
							t.Errorf("%s %s: direct %+v, %v; value %+v, %v, %v", rt.name, f.target, got, gotOK, want, wantOK, err)
						}
						n++
					}
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d direct fields read", n)
	}
}

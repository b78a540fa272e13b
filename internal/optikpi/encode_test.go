package optikpi

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The contract's files: the workspace's shared copy is the authority, the
// copy in testdata lets a lone checkout test against the same bytes, and
// TestContractCopies keeps the two equal.
var (
	vectorsPath = contractFile("../../../shared/testdata/optikpi-signatures.json", "testdata/optikpi-signatures.json")
	guidePath   = contractFile("../../../shared/spec/optikpi-api-guide.md", "testdata/optikpi-api-guide.md")
)

// contractFile returns shared when it exists, else local.
func contractFile(shared, local string) string {
	if _, err := os.Stat(shared); err == nil {
		return shared
	}
	return local
}

func TestContractCopies(t *testing.T) {
	for _, pair := range [][2]string{
		{"../../../shared/testdata/optikpi-signatures.json", "testdata/optikpi-signatures.json"},
		{"../../../shared/spec/optikpi-api-guide.md", "testdata/optikpi-api-guide.md"},
	} {
		local, err := os.ReadFile(pair[1])
		if err != nil {
			t.Fatalf("the in-repository copy is required: %v", err)
		}
		shared, err := os.ReadFile(pair[0])
		if errors.Is(err, os.ErrNotExist) {
			continue // a lone checkout: the copy is all there is
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shared, local) {
			t.Errorf("%s differs from %s: copy the contract again", pair[1], pair[0])
		}
	}
}

type vector struct {
	Name        string `json:"name"`
	AuthToken   string `json:"auth_token"`
	AccountID   string `json:"account_id"`
	WorkspaceID string `json:"workspace_id"`
	Body        string `json:"body"`
	Signature   string `json:"signature_hex"`
}

// signatureVectors returns the SDK-computed cases, or nil when the shared
// test data is not there.
func signatureVectors(tb testing.TB) []vector {
	tb.Helper()
	b, err := os.ReadFile(vectorsPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		tb.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		tb.Fatalf("%s: %v", vectorsPath, err)
	}
	return vs
}

func vectorNamed(t *testing.T, name string) vector {
	t.Helper()
	for _, v := range signatureVectors(t) {
		if v.Name == name {
			return v
		}
	}
	t.Skipf("vector %s not available", name)
	return vector{}
}

func TestAppendStringEscapes(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`He said "hi"`, `"He said \"hi\""`},
		{`C:\temp\new`, `"C:\\temp\\new"`},
		{"a\b\f\n\r\tz", `"a\b\f\n\r\tz"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\x7f", "\"\x7f\""},
		{"https://example.com/a/b?x=1&y=<2>", `"https://example.com/a/b?x=1&y=<2>"`},
		{"a\u2028b\u2029c", "\"a\u2028b\u2029c\""},
		{"Café 🎰 中文カジノ", `"Café 🎰 中文カジノ"`},
		{"bad\xffbyte", "\"bad\uFFFDbyte\""},
		{"\xed\xa0\x80", "\"\uFFFD\uFFFD\uFFFD\""}, // a UTF-16 surrogate is not UTF-8
		{"cut\xe2\x82", "\"cut\uFFFD\uFFFD\""},
	}
	for _, c := range cases {
		if got := string(appendString(nil, c.in)); got != c.want {
			t.Errorf("appendString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestEscapesMatchSDK encodes the strings of the SDKs' own bodies and finds
// each one, byte for byte, in the body the SDK sent.
func TestEscapesMatchSDK(t *testing.T) {
	for _, name := range []string{"js_escapes_slash_quote_backslash_ctrl", "js_unicode_raw_utf8", "js_single_deposit_object"} {
		v := vectorNamed(t, name)
		recs, err := DecodeRecords([]byte(v.Body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for key, val := range recs[0] {
			s, ok := val.(string)
			if !ok {
				continue
			}
			want := string(appendString(nil, key)) + ":" + string(appendString(nil, s))
			if !strings.Contains(v.Body, want) {
				t.Errorf("%s: %s is not in the SDK's body %s", name, want, v.Body)
			}
		}
	}
}

// TestFloatsMatchJavaScript formats the float probe's values as the
// JavaScript SDK did.
func TestFloatsMatchJavaScript(t *testing.T) {
	js, err := DecodeRecords([]byte(vectorNamed(t, "js_float_probe").Body))
	if err != nil {
		t.Fatal(err)
	}
	py, err := DecodeRecords([]byte(vectorNamed(t, "py_float_probe").Body))
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range js[0] {
		f, err := strconv.ParseFloat(string(py[0][key].(json.Number)), 64)
		if err != nil {
			t.Fatal(err)
		}
		if key == "k_neg_zero" {
			f = math.Copysign(0, -1)
		}
		got, err := appendFloat(nil, f, 64)
		if err != nil || string(got) != string(want.(json.Number)) {
			t.Errorf("%s: appendFloat(%v) = %s, %v; want %s", key, f, got, err, want)
		}
	}
}

func TestAppendValueNumbers(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{json.Number("500.00"), "500.00"}, // the text is kept
		{json.Number("-0"), "-0"},
		{json.Number("1E+2"), "1E+2"},
		{500.0, "500"},
		{0.1, "0.1"},
		{123.45, "123.45"},
		{math.Copysign(0, -1), "0"},
		{1e21, "1e+21"},
		{1e20, "100000000000000000000"},
		{1e-7, "1e-7"},
		{0.000001, "0.000001"},
		{-2.5e-10, "-2.5e-10"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{float32(0.1), "0.1"},
		{float32(1e21), "1e+21"},
		{42, "42"},
		{int8(-8), "-8"},
		{int16(-16), "-16"},
		{int32(-32), "-32"},
		{int64(math.MinInt64), "-9223372036854775808"},
		{uint(7), "7"},
		{uint8(8), "8"},
		{uint16(16), "16"},
		{uint32(32), "32"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{true, "true"},
		{false, "false"},
		{nil, "null"},
	}
	for _, c := range cases {
		got, err := appendValue(nil, c.v, 0)
		if err != nil || string(got) != c.want {
			t.Errorf("appendValue(%T %v) = %s, %v; want %s", c.v, c.v, got, err, c.want)
		}
	}
}

func TestAppendValueNested(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{map[string]any{}, `{}`},
		{[]any{}, `[]`},
		{map[string]any{"b": json.Number("2"), "a": "x", "c": nil}, `{"a":"x","b":2,"c":null}`},
		{map[string]any{"z": []any{true, map[string]any{"y": 1.5, "x": []any{}}}, "a\n": "v"},
			`{"a\n":"v","z":[true,{"x":[],"y":1.5}]}`},
		{json.RawMessage(" {\n \"b\" : [1, 2 ],\t\"a\":\"x y\\\" \\u00e9\" }\n"), `{"b":[1,2],"a":"x y\" \u00e9"}`},
		{json.RawMessage(`"{\"a\": 1}"`), `"{\"a\": 1}"`},
		{json.RawMessage("{\"k\":\"\xff\"}"), "{\"k\":\"\uFFFD\"}"},
		{json.RawMessage("{\"k\":\"é\"}"), `{"k":"é"}`},
		{`{"a": 1}`, `"{\"a\": 1}"`}, // a string holding JSON stays a string
	}
	for _, c := range cases {
		got, err := appendValue(nil, c.v, 0)
		if err != nil || string(got) != c.want {
			t.Errorf("appendValue(%#v) = %s, %v; want %s", c.v, got, err, c.want)
		}
	}
}

func TestAppendJSONOrder(t *testing.T) {
	r := Record{
		"zeta":                  "last",
		"failure_reason":        nil,
		"amount":                json.Number("500"),
		"transaction_id":        "txn_1",
		"payment_method":        "bank",
		"event_time":            "2024-01-15T14:45:00Z",
		"event_id":              "evt_1",
		"event_name":            "Successful Deposit",
		"event_category":        "Deposit",
		"user_id":               "user1",
		"workspace_id":          "ws",
		"account_id":            "acct",
		"Alpha":                 1,
		"currency":              "USD",
		"payment_provider_name": "Chase",
	}
	want := `{"account_id":"acct","workspace_id":"ws","user_id":"user1","event_category":"Deposit",` +
		`"event_name":"Successful Deposit","event_id":"evt_1","event_time":"2024-01-15T14:45:00Z",` +
		`"payment_method":"bank","transaction_id":"txn_1","amount":500,"payment_provider_name":"Chase",` +
		`"failure_reason":null,"Alpha":1,"currency":"USD","zeta":"last"}`
	for range 20 { // map order varies between runs; the bytes may not
		got, err := KindDeposit.AppendJSON(nil, r)
		if err != nil || string(got) != want {
			t.Fatalf("AppendJSON:\n got %s, %v\nwant %s", got, err, want)
		}
	}
	// Many extra fields, more than the encoder keeps on its stack.
	big := Record{}
	var wantBig strings.Builder
	wantBig.WriteByte('{')
	for i := range 40 {
		key := "x" + strconv.Itoa(100+i)
		big[key] = i
		if i > 0 {
			wantBig.WriteByte(',')
		}
		wantBig.WriteString(`"` + key + `":` + strconv.Itoa(i))
	}
	wantBig.WriteByte('}')
	if got, err := KindAccount.AppendJSON(nil, big); err != nil || string(got) != wantBig.String() {
		t.Errorf("AppendJSON of 40 extra fields:\n got %s, %v\nwant %s", got, err, wantBig.String())
	}
	if got, err := KindSystemEvent.AppendJSON([]byte("prefix,"), Record{}); err != nil || string(got) != "prefix,{}" {
		t.Errorf("AppendJSON(prefix, {}) = %s, %v; want prefix,{}", got, err)
	}
}

func TestAppendJSONErrors(t *testing.T) {
	ch := make(chan int)
	deep := any("leaf")
	for range maxDepth + 1 {
		deep = []any{deep}
	}
	cases := []struct {
		r     Record
		field string
		issue string
	}{
		{Record{"amount": math.NaN()}, "amount", "NaN and Infinity are not JSON"},
		{Record{"amount": math.Inf(-1)}, "amount", "NaN and Infinity are not JSON"},
		{Record{"amount": float32(math.Inf(1))}, "amount", "NaN and Infinity are not JSON"},
		{Record{"amount": json.Number("NaN")}, "amount", `invalid number "NaN"`},
		{Record{"amount": json.Number("")}, "amount", `invalid number ""`},
		{Record{"extra": json.Number("Infinity")}, "extra", `invalid number "Infinity"`},
		{Record{"metadata": map[string]any{"a": []any{1, math.NaN()}}}, "metadata", "NaN and Infinity are not JSON"},
		{Record{"metadata": map[string]any{"c": ch}}, "metadata", "unsupported Go type chan int"},
		{Record{"metadata": struct{}{}}, "metadata", "unsupported Go type struct {}"},
		{Record{"tags": []string{"a"}}, "tags", "unsupported Go type []string"},
		{Record{"raw": json.RawMessage(`{"a":}`)}, "raw", "invalid JSON in json.RawMessage"},
		{Record{"deep": deep}, "deep", "nested too deeply"},
	}
	for _, c := range cases {
		dst := []byte("kept")
		got, err := KindDeposit.AppendJSON(dst, c.r)
		checkIssue(t, "AppendJSON "+c.field, err, c.field, c.issue)
		if string(got) != "kept" {
			t.Errorf("AppendJSON %s: dst after error = %q, want %q", c.field, got, "kept")
		}
	}
	if _, err := Kind(0).AppendJSON(nil, Record{}); err == nil {
		t.Errorf("Kind(0).AppendJSON: got nil error")
	}
}

// TestRoundTrip: every sample, encoded and decoded again, is the same record.
func TestRoundTrip(t *testing.T) {
	for k, r := range samples() {
		b, err := k.AppendJSON(nil, r)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if !json.Valid(b) {
			t.Fatalf("%s: invalid JSON %s", k, b)
		}
		got, err := DecodeRecords(b)
		if err != nil {
			t.Fatalf("%s: DecodeRecords(%s): %v", k, b, err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], r) {
			t.Errorf("%s: round trip\n got %#v\nwant %#v", k, got, r)
		}
	}
}

func TestEncode(t *testing.T) {
	s := samples()
	e, err := Encode(KindDeposit, s[KindDeposit], ValidateOptions{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := KindDeposit.AppendJSON(nil, s[KindDeposit])
	if e.Kind != KindDeposit || e.UserID != "user123456" || e.EventID != "evt_Successful Deposit" || string(e.JSON) != string(want) {
		t.Errorf("Encode = {%s %q %q %s}, want {deposit user123456 evt_Successful Deposit %s}", e.Kind, e.UserID, e.EventID, e.JSON, want)
	}
	e, err = Encode(KindSystemEvent, s[KindSystemEvent], ValidateOptions{})
	if err != nil || e.UserID != "" || e.EventID != "sys-1" {
		t.Errorf("Encode(system event) = {user %q, event %q}, %v; want {\"\", sys-1}, nil", e.UserID, e.EventID, err)
	}
	e, err = Encode(KindCustomer, s[KindCustomer], ValidateOptions{})
	if err != nil || e.UserID != "user123" || e.EventID != "" {
		t.Errorf("Encode(customer) = {user %q, event %q}, %v; want {user123, \"\"}, nil", e.UserID, e.EventID, err)
	}
	_, err = Encode(KindDeposit, without(s[KindDeposit], "amount"), ValidateOptions{})
	checkIssue(t, "Encode without amount", err, "amount", issueMissing)
	_, err = Encode(KindDeposit, with(s[KindDeposit], "extra", math.NaN()), ValidateOptions{})
	checkIssue(t, "Encode with a NaN extra field", err, "extra", "NaN and Infinity are not JSON")
}

// TestEncodeSDKBody: a body an SDK sent decodes, validates and encodes to the
// same JSON value.
func TestEncodeSDKBody(t *testing.T) {
	v := vectorNamed(t, "js_array_2_deposits")
	recs, err := DecodeRecords([]byte(v.Body))
	if err != nil {
		t.Fatal(err)
	}
	objs := make([][]byte, len(recs))
	for i, r := range recs {
		e, err := Encode(KindDeposit, r, ValidateOptions{Strict: true})
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		objs[i] = e.JSON
	}
	var got, want any
	if err := json.Unmarshal(AppendBatch(nil, objs), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(v.Body), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("re-encoded batch\n got %v\nwant %v", got, want)
	}
}

func TestDecodeRecords(t *testing.T) {
	cases := []struct {
		body string
		want []Record
		err  string // part of the error; "" for none
	}{
		{`{"a":1}`, []Record{{"a": json.Number("1")}}, ""},
		{" [ {\"a\":1.50}, {} ] \n", []Record{{"a": json.Number("1.50")}, {}}, ""},
		{`[]`, []Record{}, ""},
		{`{"n":null,"o":{"x":[true]}}`, []Record{{"n": nil, "o": map[string]any{"x": []any{true}}}}, ""},
		{``, nil, "empty body"},
		{`   `, nil, "empty body"},
		{`"text"`, nil, "got a string"},
		{`42`, nil, "got a number"},
		{`null`, nil, "got null"},
		{`true`, nil, "got a boolean"},
		{`[{"a":1}, 2]`, nil, "element 1 of the array is a number, not an object"},
		{`[[]]`, nil, "element 0 of the array is an array"},
		{`[null]`, nil, "element 0 of the array is null"},
		{`{"a":1} {"b":2}`, nil, "data after the JSON value"},
		{`{"a":1}]`, nil, "data after the JSON value"},
		{`{"a":1`, nil, "unexpected EOF"},
		{`{"a":NaN}`, nil, "invalid character"},
		{`{'a':1}`, nil, "invalid character"},
	}
	for _, c := range cases {
		got, err := DecodeRecords([]byte(c.body))
		if c.err == "" {
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("DecodeRecords(%s) = %#v, %v; want %#v", c.body, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrMalformedBody) {
			t.Errorf("DecodeRecords(%s) = %v, %v; want an ErrMalformedBody containing %q", c.body, got, err, c.err)
		}
	}
}

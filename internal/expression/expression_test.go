package expression

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func testEnv() *Env {
	return &Env{
		Value: ValueOf(gjson.Parse(`{"stake":10.1,"payout":2.3,"cents":1050,"neg":-250,"s":" Mixed ",
			"ts":1705314600123,"at":"2024-01-15 11:30:00","big":123456789012345678901,"n":null,"o":{"k":[1,"x"]}}`)).(map[string]any),
		Key:       "player-1",
		Headers:   map[string]string{"ce_type": "player.signup"},
		Topic:     "players",
		Partition: 3,
		Offset:    42,
		Timestamp: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC),
	}
}

// show prints a result with its Go type, floats as a field renders them.
func show(x any) string {
	switch v := x.(type) {
	case float64:
		b, err := AppendFloat(nil, v)
		if err != nil {
			return "error: " + err.Error()
		}
		return "float " + string(b)
	case time.Time:
		return "time " + v.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%T %v", x, x)
}

// runTests are TestRun's expressions and what each gives.
var runTests = []struct {
	src  string
	want string // show() of the result, or "error: <substring>"
}{
	// Variables.
	{`value.cents`, "int 1050"},
	{`value.stake`, "float 10.1"},
	{`value.big`, "float 123456789012346000000"},
	{`value.n ?? "none"`, "string none"},
	{`value.missing ?? 0`, "int 0"},
	{`value.o.k[1]`, "string x"},
	{`value.nope?.k ?? "no"`, "string no"},
	{`key`, "string player-1"},
	{`headers.ce_type`, "string player.signup"},
	{`headers.absent`, "string "},
	{`"ce_type" in headers`, "bool true"},
	{`topic + "/" + string(partition) + "/" + string(offset)`, "string players/3/42"},
	{`timestamp.UnixMilli()`, "int64 1705314600000"},

	// Arithmetic: ints stay exact, floats render to 15 digits.
	{`value.stake - value.payout`, "float 7.8"},
	{`0.1 + 0.2`, "float 0.3"},
	{`value.cents / 100`, "float 10.5"},
	{`value.cents * 3`, "int 3150"},
	{`value.cents % 7`, "int 0"},
	{`value.cents % 0`, "error: integer divide by zero"},
	{`value.cents / 0`, "error: not a number JSON can hold"},
	{`value.missing > 0`, "error: invalid operation"},

	// Functions.
	{`abs(value.neg)`, "int 250"},
	{`abs(value.payout - value.stake)`, "float 7.8"},
	{`sign(value.neg)`, "int -1"},
	{`sign(0)`, "int 0"},
	{`sign(value.stake)`, "int 1"},
	{`sign(value.s)`, `error: sign: want a number, got " Mixed "`},
	{`round(2.5)`, "float 3"},
	{`round(-2.5)`, "float -3"},
	{`round(2.675, 2)`, "float 2.68"},
	{`round(-2.675, 2)`, "float -2.68"},
	{`round(9.995, 2)`, "float 10"},
	{`round(1.004, 2)`, "float 1"},
	{`round(0.29 * 100) == 29`, "bool true"}, // 28.999999999999996 in binary
	{`int(round(0.29 * 100))`, "int 29"},
	{`round(-0.29 * 100) == -29`, "bool true"},
	{`round(1.005 * 1000, 1) == 1005`, "bool true"},
	{`round(value.cents, 2)`, "int 1050"},
	{`round(value.stake, value.neg)`, "error: round: want 0 to 15 places"},
	{`floor(value.cents / 100)`, "float 10"},
	{`ceil(value.stake)`, "float 11"},
	{`min(value.stake, value.payout)`, "float 2.3"},
	{`max(value.cents, 2000)`, "int 2000"},
	{`int("42") + 1`, "int 43"},
	{`float("2.5") * 2`, "float 5"},
	{`lower(trim(value.s))`, "string mixed"},
	{`upper(value.s)`, "string  MIXED "},
	{`len(split("a,b,c", ","))`, "int 3"},
	{`replace("a-b", "-", "_")`, "string a_b"},
	{`headers.ce_type startsWith "player."`, "bool true"},
	{`headers.ce_type contains "sign"`, "bool true"},
	{`headers.ce_type matches "^player\\.(signup|login)$"`, "bool true"},
	{`unix_millis(value.ts)`, "time 2024-01-15T10:30:00.123Z"},
	{`unix_millis(-1500)`, "time 1969-12-31T23:59:58.5Z"},
	{`unix_millis(timestamp.UnixMilli())`, "time 2024-01-15T10:30:00Z"}, // an int64
	{`unix_seconds(timestamp.Unix())`, "time 2024-01-15T10:30:00Z"},
	{`unix_seconds(1705314600)`, "time 2024-01-15T10:30:00Z"},
	{`unix_seconds(1705314600.25)`, "time 2024-01-15T10:30:00.25Z"},
	{`unix_seconds(1e15)`, "error: unix_seconds: 1e+15 is out of range"},
	{`unix_millis(value.s)`, "error: unix_millis: want a number"},
	{`parse_time("2006-01-02 15:04:05", value.at)`, "time 2024-01-15T11:30:00Z"},
	{`parse_time("2006-01-02 15:04:05", value.at, "Europe/Malta")`, "time 2024-01-15T10:30:00Z"},
	{`parse_time("2006-01-02 15:04:05", value.at, "+02:00")`, "time 2024-01-15T09:30:00Z"}, // an offset, as timezone takes
	{`parse_time("2006-01-02", value.at)`, `error: parse_time: "2024-01-15 11:30:00" does not match layout "2006-01-02"`},
	{`parse_time("2006-01-02 15:04:05", value.at, value.s)`, `error: parse_time: unknown time zone " Mixed "`},
	{`format_rfc3339(unix_millis(value.ts))`, "string 2024-01-15T10:30:00.123Z"},
	{`format_rfc3339(timestamp)`, "string 2024-01-15T10:30:00Z"},
	{`format_rfc3339(timestamp - duration("1h"))`, "error: unknown name duration"},
	{`(unix_millis(value.ts) - timestamp).Milliseconds()`, "int64 123"},
}

func TestRun(t *testing.T) {
	env := testEnv()
	var m Machine
	for _, tt := range runTests {
		t.Run(tt.src, func(t *testing.T) {
			var got string
			p, err := Compile(tt.src, Field)
			if err == nil {
				var out any
				out, err = m.Run(p, env)
				got = show(out)
			}
			if err != nil {
				got = "error: " + err.Error()
			}
			// An error matches a want of "error: " and a part of it.
			part, isErr := strings.CutPrefix(tt.want, "error: ")
			if isErr && !strings.Contains(got, "error: ") || isErr && !strings.Contains(got, part) || !isErr && got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src  string
		kind Kind
		want string
	}{
		{`vaule.amount > 0`, Condition, "unknown name vaule (column 1 of the expression)"},
		{`coalesce(value.a, 1)`, Field, "unknown name coalesce"},
		{`now()`, Field, "unknown name now"},
		{`key > 5`, Condition, "mismatched types string and int) (column 5"},
		{`headers.ce_type + 1`, Field, "mismatched types string and int"},
		{`key`, Condition, "expected bool, but got string"},
		{`value.a +`, Field, "unexpected token EOF"},
		{"value.a ==\n  ", Condition, "(line 2, column"},
		{`sign("x")`, Field, "sign"},
		{`round(1.5, "2")`, Field, "round"},
		{`format_rfc3339(key)`, Field, "format_rfc3339"},
		{`parse_time("2006", key, "Nowhere/City")`, Field, `parse_time: unknown time zone "Nowhere/City"`},
		{`parse_time("YYYY-MM-DD", key)`, Field, `parse_time: layout "YYYY-MM-DD" has no Go reference-time elements`},
		{`parse_time("2006-01-02", key, "+25:00")`, Field, `parse_time: unknown time zone "+25:00"`},
		// Results no field can hold: every record would fail.
		{`unix_millis(value.end) - unix_millis(value.start)`, Field, "the result is a time.Duration: want a string, number, boolean, time, object or list"},
		{`timestamp.Month()`, Field, "the result is a time.Month"},
		{`timestamp.Location()`, Field, "the result is a *time.Location"},
	}
	for _, tt := range tests {
		_, err := Compile(tt.src, tt.kind)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: got %v, want one line containing %q", tt.src, err, tt.want)
		}
	}
}

func TestUses(t *testing.T) {
	tests := []struct {
		src  string
		want Uses
	}{
		{`key == "x"`, 0},
		{`headers.ce_type == "x"`, UsesHeaders},
		{`value.a > 0 && "t" in headers`, UsesValue | UsesHeaders},
		{`timestamp.Unix() > 0`, 0},
		{`$env.value.a > 0`, UsesValue | UsesHeaders},
		{`$env["headers"]["t"] == "x"`, UsesValue | UsesHeaders},
	}
	for _, tt := range tests {
		p, err := Compile(tt.src, Condition)
		if err != nil {
			t.Fatal(err)
		}
		if p.Uses() != tt.want {
			t.Errorf("%q: got uses %b, want %b", tt.src, p.Uses(), tt.want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{7.799999999999999, "7.8"},
		{10, "10"},
		{0.05, "0.05"},
		{-1.5, "-1.5"},
		{1e21, "1000000000000000000000"},
		{1e-7, "0.0000001"},
		{123456789.123456789, "123456789.123457"},
	}
	for _, tt := range tests {
		got, err := AppendFloat(nil, tt.f)
		if err != nil || string(got) != tt.want {
			t.Errorf("%v: got %s %v, want %s", tt.f, got, err, tt.want)
		}
	}
}

// TestFunctionsDocumented checks that docs/mapping.md shows every function
// an expression may call with an example, and TestRun runs each.
func TestFunctionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/mapping.md")
	if err != nil {
		t.Fatal(err)
	}
	var tested strings.Builder
	for _, tt := range runTests {
		tested.WriteString(tt.src + "\n")
	}
	for _, name := range functionNames() {
		if !strings.Contains(string(doc), "`"+name+"(") {
			t.Errorf("docs/mapping.md has no example of %s", name)
		}
		if !strings.Contains(tested.String(), name+"(") {
			t.Errorf("TestRun does not call %s", name)
		}
	}
}

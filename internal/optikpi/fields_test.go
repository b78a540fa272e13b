package optikpi

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// guideTables parses the Data Models section of the integration guide into
// heading → rows of (name, type, required, description).
func guideTables(t *testing.T) map[string][][4]string {
	t.Helper()
	b, err := os.ReadFile(guidePath)
	if err != nil {
		t.Fatalf("the guide is required: %v", err)
	}
	text := string(b)
	start := strings.Index(text, "## 📋 Data Models")
	end := strings.Index(text, "## 🚀 Quick Start")
	if start < 0 || end < start {
		t.Fatalf("%s: Data Models section not found", guidePath)
	}
	row := regexp.MustCompile(`^\| (\w+) \| ([\w/]+) \| (Yes|No) \| (.*)$`)
	out := map[string][][4]string{}
	heading := ""
	for _, line := range strings.Split(text[start:end], "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			heading = h
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && m[1] != "Field" {
			out[heading] = append(out[heading], [4]string{m[1], m[2], m[3], m[4]})
		}
	}
	return out
}

// TestFieldsMatchGuide compares every table with the guide's, field by field
// and in order. The two models the guide lacks or shortens are listed here.
func TestFieldsMatchGuide(t *testing.T) {
	guide := guideTables(t)
	headings := map[Kind]string{
		KindCustomer:       "📊 Customer Profile Schema",
		KindAccount:        "Account Event",
		KindDeposit:        "Deposit Event",
		KindWithdraw:       "Withdraw Event",
		KindGamingActivity: "Gaming Activity Event",
		KindWalletBalance:  "Wallet Balance Event",
		KindReferFriend:    "Refer Friend Event",
		KindExtAttributes:  "Extended Attributes",
	}
	// Fields the guide's prose gives a format that its Type column does not.
	formats := map[string]FieldType{"date_of_birth": TypeDate, "email": TypeEmail}
	for k, h := range headings {
		rows := guide[h]
		if len(rows) == 0 {
			t.Fatalf("%s: guide table %q not found", k, h)
		}
		var want []Field
		if k == KindExtAttributes {
			want = append(want, Field{Name: "account_id", Type: TypeString})
		}
		for _, r := range rows {
			f := Field{Name: r[0], Required: r[2] == "Yes"}
			switch {
			case formats[r[0]] != 0:
				f.Type = formats[r[0]]
			case strings.Contains(r[3], "date-time format"):
				f.Type = TypeDateTime
			default:
				f.Type = map[string]FieldType{"String": TypeString, "Number": TypeNumber, "Integer": TypeInteger,
					"Boolean": TypeBoolean, "Object/String": TypeJSON}[r[1]]
			}
			want = append(want, f)
		}
		got := k.Fields()
		if len(got) != len(want) {
			t.Errorf("%s: got %d fields, want %d", k, len(got), len(want))
		}
		for i := 0; i < min(len(got), len(want)); i++ {
			g, w := got[i], want[i]
			if g.Name != w.Name || g.Type != w.Type || g.Required != w.Required {
				t.Errorf("%s field %d: got {%s %s required=%v}, want {%s %s required=%v}",
					k, i, g.Name, g.Type, g.Required, w.Name, w.Type, w.Required)
			}
		}
	}
}

func TestSystemEventFields(t *testing.T) {
	want := []string{"account_id", "workspace_id", "event_category", "event_name", "event_id", "event_time", "event_data"}
	got := KindSystemEvent.Fields()
	if len(got) != len(want) {
		t.Fatalf("got %d fields, want %d", len(got), len(want))
	}
	for i, f := range got {
		if f.Name != want[i] {
			t.Errorf("field %d: got %s, want %s", i, f.Name, want[i])
		}
	}
	if f, _ := KindSystemEvent.Field("event_data"); f.Type != TypeJSON {
		t.Errorf("event_data: got type %s, want JSON", f.Type)
	}
	if _, ok := KindSystemEvent.Field("user_id"); ok {
		t.Errorf("system events have no user_id field")
	}
}

func TestFieldLookup(t *testing.T) {
	for _, k := range Kinds() {
		for i, f := range k.Fields() {
			got, ok := k.Field(f.Name)
			if !ok || got.Name != f.Name || got.Type != f.Type || got.Required != f.Required {
				t.Errorf("%s.Field(%q) = %+v, %v; want Fields()[%d] = %+v", k, f.Name, got, ok, i, f)
			}
		}
		if f, ok := k.Field("no_such_field"); ok {
			t.Errorf("%s.Field(no_such_field) = %+v, true; want false", k, f)
		}
	}
	if fs := Kind(0).Fields(); fs != nil {
		t.Errorf("Kind(0).Fields() = %v, want nil", fs)
	}
	if _, ok := Kind(42).Field("user_id"); ok {
		t.Errorf("Kind(42).Field(user_id) found a field")
	}
}

func TestFieldsReturnsCopy(t *testing.T) {
	fs := KindDeposit.Fields()
	fs[0].Name = "changed"
	if got := KindDeposit.Fields()[0].Name; got != "account_id" {
		t.Errorf("after changing the returned slice, Fields()[0].Name = %q, want account_id", got)
	}
}

func TestFieldTypeString(t *testing.T) {
	for _, c := range []struct {
		t    FieldType
		want string
	}{{TypeString, "string"}, {TypeDateTime, "date-time"}, {TypeJSON, "JSON"}, {0, "FieldType(0)"}, {99, "FieldType(99)"}} {
		if got := c.t.String(); got != c.want {
			t.Errorf("FieldType(%d).String() = %q, want %q", uint8(c.t), got, c.want)
		}
	}
}

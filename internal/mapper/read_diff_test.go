package mapper

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"
)

// valueOld is doc.value as it was before where a path is read from was
// decided at compile time (17b7a8f): the reference for doc.read.
func (d *doc) valueOld(p *jpath) (optikpi.Value, bool) {
	var sl slot
	switch {
	case p.key >= 0 && p.rest == "":
		sl = d.top[p.key]
	case p.key >= 0 && p.sub >= 0 && p.tail == "" && d.top[p.key].exists() && d.scan(p.key):
		sl = d.sub[p.sub]
	default:
		r := d.get(p)
		if !r.Exists() || r.Type == gjson.Null {
			return optikpi.Value{}, false
		}
		return recordValue(&r), true
	}
	if !sl.exists() {
		return optikpi.Value{}, false
	}
	raw := d.s[sl.start:sl.end]
	switch raw[0] {
	case '"':
		if sl.escaped {
			return optikpi.String(gjson.Parse(raw).Str), true
		}
		return optikpi.Value{Type: optikpi.ValueString, Text: raw[1 : len(raw)-1], Plain: true}, true
	case 't':
		return optikpi.Bool(true), true
	case 'f':
		return optikpi.Bool(false), true
	case 'n':
		return optikpi.Value{}, false
	case '{', '[':
		return optikpi.Value{Type: optikpi.ValueJSON, Text: raw}, true
	}
	return optikpi.Value{Type: optikpi.ValueNumber, Text: raw}, true
}

func (d *doc) fromValueOld(p *jpath) (optikpi.Value, bool) {
	v, ok := d.valueOld(p)
	if (v.Type == optikpi.ValueJSON || v.Type == optikpi.ValueNumber) && !p.made && within(v.Text, d.s) {
		v.Plain = true
	}
	return v, ok
}

var diffPaths = []string{
	"a", "a.b", "a.b.0.c", "a.b.1.d", "a.b.#", "a.b.#.c", `a.b.#(c==2).d`, "a.e", "a.e.x",
	"f", "f.f.f", "g\\.h", "a2.1", "a2.#", "missing", "missing.x", "a.b.@reverse.0.c",
	"@this.f", "{f,q}", "profile.x", "q", "a*", "a.", "a|@this", "a2|@reverse", "f|@fromstr",
	"p", "p.e", "p.mail", "p.n", "p.n.o", "p.n.o.1.q", "p.e.x", "s.e", "s.0.e", "t.0", "t.0.1",
	"a@b", "a.b@c", "a.@this", "n|@tostr", "n.@fromstr", "x.y.z", "0", "0.0", "a..b", ".a",
}

// readMatchesOld reads every path from value both ways, on a doc loaded
// each way, and compares.
func readMatchesOld(t *testing.T, value string, extra string) {
	if !json.Valid([]byte(value)) || !strings.HasPrefix(strings.TrimLeft(value, " \t\r\n"), "{") {
		return
	}
	paths := append([]string{extra}, diffPaths...)
	pl := newPlan()
	compiled := make([]*jpath, len(paths))
	for i, p := range paths {
		compiled[i] = pl.path(p)
	}
	rec := &kgo.Record{Value: []byte(value)}
	type pair struct{ old, new *doc }
	docs := []pair{{newDoc(rec, pl), newDoc(rec, pl)}}
	if d := new(doc); d.load(rec, pl) {
		d2 := new(doc)
		d2.load(rec, pl)
		docs = append(docs, pair{d, d2})
	}
	for _, dd := range docs {
		for i, p := range compiled {
			got, gotOK := dd.new.value(p)
			want, wantOK := dd.old.valueOld(p)
			if got != want || gotOK != wantOK {
				t.Fatalf("value of %q in %s: got %+v %v, want %+v %v", paths[i], value, got, gotOK, want, wantOK)
			}
			got, gotOK = dd.new.fromValue(p)
			want, wantOK = dd.old.fromValueOld(p)
			if got != want || gotOK != wantOK {
				t.Fatalf("fromValue of %q in %s: got %+v %v, want %+v %v", paths[i], value, got, gotOK, want, wantOK)
			}
		}
	}
}

func FuzzReadMatchesOld(f *testing.F) {
	for _, v := range []string{
		`{"a":{"b":[{"c":1},{"c":2,"d":"x"}],"e":null},"f":"s","g.h":3,"a2":[1,2,3]}`,
		`{"a":"not an object","f":{"f":{"f":1}},"n":"12","a@b":5}`,
		`{"a":{"b":1},"a":{"b":2}}`,
		`{"pro\u0066ile":{"x":1},"q":true}`,
		`{"p":{"e":1,"e":2,"m\u0061il":"x","n":{"o":[1,{"q":3}]}},"s":[{"e":4}],"t":{"0":"zero"}}`,
		`{"p" : { "e" : "sp" , "n" : { "o" : 5 } } , "s" : "str", "t":[7]}`,
		`{"p":null,"s":{},"t":{"0":{"1":2}},"0":{"0":-0.5e3}}`,
		`{"f":"a\"b\u00e9","a":{"b":-1.5e3,"e":"x\ty"},"q":false,"a2":{"1":null}}`,
	} {
		f.Add(v, "a.b")
	}
	f.Fuzz(func(t *testing.T, value, path string) { readMatchesOld(t, value, path) })
}

// TestMapConcurrentMatchesSerial maps every reference sample, and each with
// one required field dropped or emptied, from several goroutines sharing
// one Mapper (its compiled plans and the models' encoders), both modes:
// each goroutine's results equal a serial run's, and -race sees the plans
// only read.
func TestMapConcurrentMatchesSerial(t *testing.T) {
	samples := readSamples(t)
	var recs []*kgo.Record
	for topic, lines := range samples {
		for _, l := range lines {
			recs = append(recs, &kgo.Record{Topic: topic, Value: l})
			for _, cut := range []string{`"user_id"`, `"event_id"`, `"amount"`, `"email"`} {
				if i := strings.Index(string(l), cut); i >= 0 {
					recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(string(l[:i]) + `"x_` + string(l[i+1:]))})
				}
			}
		}
	}
	for _, strict := range []bool{false, true} {
		m := exampleMapper(t, strict)
		show := func(r *kgo.Record) string {
			res, err := m.Map(r)
			var out strings.Builder
			out.WriteString(res.Route)
			out.Write(res.Record.JSON)
			for _, o := range res.More {
				out.Write(o.Record.JSON)
			}
			if err != nil {
				out.WriteString(err.Error())
			}
			return out.String()
		}
		want := make([]string, len(recs))
		for i, r := range recs {
			want[i] = show(r)
		}
		done := make(chan struct{})
		for g := range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for round := range 3 {
					for j := range recs {
						i := (j*7 + g + round) % len(recs)
						if got := show(recs[i]); got != want[i] {
							t.Errorf("strict=%v record %d: got %s, want %s", strict, i, got, want[i])
							return
						}
					}
				}
			}()
		}
		for range 4 {
			<-done
		}
	}
}

package config

import (
	"reflect"
	"slices"
	"testing"
)

// TestFieldIndexes checks the decoder's map of each type's keys against
// a search of the type's fields for each key, for every struct type of a
// Config and every key, "" (no key: an untagged field is not set by it)
// and one that is none.
func TestFieldIndexes(t *testing.T) {
	// search is what fieldIndexes saves: the field of t keyed name, in
	// field order, inline fields in their place.
	var search func(t reflect.Type, name string) []int
	search = func(t reflect.Type, name string) []int {
		for i := range t.NumField() {
			f := t.Field(i)
			if inline(f) {
				if sub := search(f.Type, name); sub != nil {
					return append([]int{i}, sub...)
				}
			} else if name != "" && yamlName(f) == name {
				return []int{i}
			}
		}
		return nil
	}
	seen := map[reflect.Type]bool{}
	var check func(typ reflect.Type)
	check = func(typ reflect.Type) {
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			check(typ.Elem())
			return
		case reflect.Struct:
		default:
			return
		}
		if seen[typ] {
			return
		}
		seen[typ] = true
		d := &decoder{}
		for _, name := range append(keyNames(typ), "", "-", "no_such_key", "Untagged", "untagged", "hidden") {
			if got, want := d.fieldIndex(typ, name), search(typ, name); !slices.Equal(got, want) {
				t.Errorf("%s key %q: got field %v, want %v", typ, name, got, want)
			}
		}
		for i := range typ.NumField() {
			check(typ.Field(i).Type)
		}
	}
	check(reflect.TypeFor[fieldCases]())
	check(reflect.TypeFor[Config]())
	if len(seen) < 10 {
		t.Errorf("checked %d struct types, want the dozens of a Config", len(seen))
	}
}

// fieldCases holds what a Config's types need not: a key written twice,
// first in an inline struct and then after it, a key inline fields share,
// fields of no key ("-", untagged, unexported) and an inline non-struct.
type fieldCases struct {
	Untagged int
	Dash     int              `yaml:"-"`
	hidden   int              `yaml:"hidden"`
	A        fieldCasesInline `yaml:",inline"`
	Twice    int              `yaml:"twice"`
	B        fieldCasesInline `yaml:",inline"`
	M        map[string]int   `yaml:",inline"`
	Last     int              `yaml:"last,omitempty"`
}

type fieldCasesInline struct {
	Twice int `yaml:"twice"`
	Own   int `yaml:"own"`
	Dash  int `yaml:"-,omitempty"`
}

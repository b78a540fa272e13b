// Package expression compiles and runs the expressions of route conditions
// and field rules (github.com/expr-lang/expr) over one Kafka record.
package expression

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/tidwall/gjson"

	"github.com/optikpi/optikpi-relay/internal/timelayout"
)

// Env is what an expression sees of a Kafka record.
type Env struct {
	// Value is the record's JSON value, an object: whole numbers that fit
	// in 64 bits are ints, other numbers float64s, null is nil.
	Value map[string]any `expr:"value"`
	// Key is the record's key as text, "" when it has none.
	Key string `expr:"key"`
	// Headers holds the first value of each header name, as text; a
	// missing header reads as "" (test it with `"name" in headers`).
	Headers   map[string]string `expr:"headers"`
	Topic     string            `expr:"topic"`
	Partition int               `expr:"partition"`
	Offset    int               `expr:"offset"`
	// Timestamp is the record's timestamp in UTC, the zero time when
	// unset.
	Timestamp time.Time `expr:"timestamp"`
}

// Uses says which of Env's costly parts a program reads, so that only
// those are built for a record.
type Uses uint8

const (
	UsesValue   Uses = 1 << iota // Env.Value: the value parsed
	UsesHeaders                  // Env.Headers
)

// Kind is what an expression must produce.
type Kind uint8

const (
	// Condition expressions produce a boolean.
	Condition Kind = iota
	// Field expressions produce a field's value: nil for none.
	Field
)

// Program is a compiled expression, safe for concurrent use.
type Program struct {
	prog *vm.Program
	uses Uses
}

// Uses reports what of Env p reads.
func (p *Program) Uses() Uses { return p.uses }

// builtins are the functions of expr that expressions may call besides
// the relay's own (functions.go). Others are left out to keep the language
// small and deterministic: no now(), so that a replay maps the same.
var builtins = [...]string{
	"abs", "ceil", "floor", "int", "float", "string", "len",
	"lower", "upper", "trim", "split", "replace", "min", "max",
}

// Compile compiles src, checking its names and types against Env and the
// functions. The error is one line: the problem and where in src.
func Compile(src string, k Kind) (*Program, error) {
	opts := []expr.Option{expr.Env(Env{}), expr.DisableAllBuiltins()}
	for _, b := range builtins {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	zones := map[string]*time.Location{}
	opts = append(opts, functions(zones)...)
	if k == Condition {
		opts = append(opts, expr.AsBool())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, oneLine(err)
	}
	p := &Program{prog: prog}
	node := prog.Node()
	if t := node.Type(); k == Field && !fieldResult(t) {
		return nil, fmt.Errorf("the result is a %s: want a string, number, boolean, time, object or list", t)
	}
	v := checker{zones: zones}
	ast.Walk(&node, &v)
	if v.err != nil {
		return nil, v.err
	}
	p.uses = v.uses
	return p, nil
}

// fieldResult reports whether a field expression whose type is known as t
// at compile time may produce a value a field holds: what the mapper
// writes (mapper's exprValue), or any type (nil, an interface), known
// only at run time. A time.Duration, for one, is an int64 of another type.
func fieldResult(t reflect.Type) bool {
	switch {
	case t == nil, t.Kind() == reflect.Interface, t.Kind() == reflect.Map, t.Kind() == reflect.Slice:
		return true
	}
	switch t {
	case reflect.TypeFor[string](), reflect.TypeFor[bool](), reflect.TypeFor[int](), reflect.TypeFor[int64](),
		reflect.TypeFor[float64](), reflect.TypeFor[time.Time]():
		return true
	}
	return false
}

// checker finds what a program reads, and checks the constant arguments
// of the relay's functions that would otherwise fail every record.
type checker struct {
	uses  Uses
	zones map[string]*time.Location
	err   error
}

func (c *checker) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		switch x.Value {
		case "value":
			c.uses |= UsesValue
		case "headers":
			c.uses |= UsesHeaders
		case "$env":
			// expr's name for Env itself: $env.value and $env["headers"]
			// read them with no identifier of their own.
			c.uses |= UsesValue | UsesHeaders
		}
	case *ast.CallNode:
		id, ok := x.Callee.(*ast.IdentifierNode)
		if !ok || id.Value != fnParseTime || len(x.Arguments) < 2 || c.err != nil {
			return
		}
		var loc *time.Location // UTC when not given
		if len(x.Arguments) >= 3 {
			tz, ok := x.Arguments[2].(*ast.StringNode)
			if !ok {
				return // a zone read from the record: checked as it runs
			}
			var err error
			if loc, err = timelayout.LoadZone(tz.Value); err != nil {
				c.err = fmt.Errorf("%s: %w", fnParseTime, err)
				return
			}
			c.zones[tz.Value] = loc
		}
		if layout, ok := x.Arguments[0].(*ast.StringNode); ok {
			if err := timelayout.Check(layout.Value, loc); err != nil {
				c.err = fmt.Errorf("%s: %w", fnParseTime, err)
			}
		}
	}
}

// Machine runs programs; it is not safe for concurrent use, and holds what
// the last run saw until it is dropped.
type Machine struct{ vm vm.VM }

// Run runs p over env. The error is one line.
func (m *Machine) Run(p *Program, env *Env) (any, error) {
	out, err := m.vm.Run(p.prog, env)
	if err != nil {
		return nil, oneLine(err)
	}
	return out, nil
}

// oneLine turns expr's error, which shows the expression with a caret
// below, into one line that names the column.
func oneLine(err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return err
	}
	if fe.Line > 1 {
		return fmt.Errorf("%s (line %d, column %d of the expression)", strings.TrimSpace(fe.Message), fe.Line, fe.Column+1)
	}
	return fmt.Errorf("%s (column %d of the expression)", strings.TrimSpace(fe.Message), fe.Column+1)
}

// ValueOf converts a JSON value to what Env.Value holds. An object with a
// key twice keeps the last, as standard JSON parsers do.
func ValueOf(r gjson.Result) any {
	switch r.Type {
	case gjson.String:
		return r.Str
	case gjson.Number:
		if n, err := strconv.ParseInt(r.Raw, 10, 64); err == nil {
			return int(n)
		}
		return r.Num
	case gjson.True:
		return true
	case gjson.False:
		return false
	case gjson.JSON:
		if r.IsArray() {
			var out []any
			r.ForEach(func(_, v gjson.Result) bool {
				out = append(out, ValueOf(v))
				return true
			})
			return out
		}
		out := map[string]any{}
		r.ForEach(func(k, v gjson.Result) bool {
			out[k.Str] = ValueOf(v)
			return true
		})
		return out
	}
	return nil
}

// SignificantDigits is how many significant digits a float result keeps:
// as many as a float64 holds exactly, so that binary noise such as
// 10.1 - 2.3 = 7.799999999999999 renders as 7.8.
const SignificantDigits = 15

// AppendFloat appends the JSON text of a float result: its value to
// SignificantDigits, in the shortest decimal form without an exponent
// (7.8, 10, 0.05). NaN and infinities (x / 0) are errors.
func AppendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, fmt.Errorf("%v is not a number JSON can hold (a division by zero?)", f)
	}
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', SignificantDigits, 64), 64)
	return strconv.AppendFloat(b, f, 'f', -1, 64), nil
}

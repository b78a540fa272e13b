package mapper

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/optikpi/optikpi-relay/internal/expression"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// exprState is what the expressions of one record share: the environment,
// built on the first expression and then only in the parts an expression
// reads (the value is parsed for the first that reads it), and the machine
// that runs them. A route without expressions never touches it.
type exprState struct {
	env   expression.Env
	built expression.Uses // the costly parts of env built so far
	m     *expression.Machine
}

// run runs p over the record of d.
func (d *doc) run(p *expression.Program) (any, error) {
	s := &d.ex
	if s.m == nil {
		rec := d.rec
		s.m = new(expression.Machine)
		s.env.Key = view(rec.Key)
		s.env.Topic, s.env.Partition, s.env.Offset = rec.Topic, int(rec.Partition), int(rec.Offset)
		// kgo's is in the host's time zone: timestamp.Hour() must not be.
		s.env.Timestamp = rec.Timestamp.UTC()
	}
	need := p.Uses() &^ s.built
	if need&expression.UsesValue != 0 {
		s.env.Value, _ = expression.ValueOf(gjson.Parse(d.s)).(map[string]any)
	}
	if need&expression.UsesHeaders != 0 {
		s.env.Headers = make(map[string]string, len(d.rec.Headers))
		for _, h := range d.rec.Headers {
			if _, ok := s.env.Headers[h.Key]; !ok { // the first, as meta: header:NAME reads
				s.env.Headers[h.Key] = view(h.Value)
			}
		}
	}
	s.built |= need
	return s.m.Run(p, &s.env)
}

// view returns b as a string without a copy: it lives as long as the
// record, and whatever outlives Map is copied (optikpi.Builder.Encode).
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// firstHeader returns the value of rec's first header name: the one that
// meta: header:NAME, in a field rule or a condition, reads.
func firstHeader(rec *kgo.Record, name string) ([]byte, bool) {
	for _, h := range rec.Headers {
		if h.Key == name {
			return h.Value, true
		}
	}
	return nil, false
}

// exprValue converts the result of a field's expression to a record value,
// false for nil: ints as they are, floats by expression.AppendFloat, times
// as the API writes them, objects and lists as JSON. These are the types
// expression.Compile lets a field's expression produce (fieldResult).
func (d *doc) exprValue(x any) (optikpi.Value, bool, error) {
	start := len(d.arena)
	switch v := x.(type) {
	case nil:
		return optikpi.Value{}, false, nil
	case string:
		return optikpi.String(v), true, nil
	case bool:
		return optikpi.Bool(v), true, nil
	case int:
		d.arena = strconv.AppendInt(d.arena, int64(v), 10)
	case int64:
		d.arena = strconv.AppendInt(d.arena, v, 10)
	case float64:
		var err error
		if d.arena, err = expression.AppendFloat(d.arena, v); err != nil {
			return optikpi.Value{}, false, err
		}
	case time.Time:
		out, ok := d.formatTime(v)
		if !ok {
			return optikpi.Value{}, false, fmt.Errorf("%s is outside the years 0001 to 9999", v)
		}
		return out, true, nil
	case map[string]any, []any:
		return jsonValue(v)
	default:
		if k := reflect.TypeOf(x).Kind(); k == reflect.Map || k == reflect.Slice {
			return jsonValue(x) // split's []string, headers' map[string]string
		}
		return optikpi.Value{}, false, fmt.Errorf("want a string, number, boolean, time, object or list, got %T", x)
	}
	return number(d.text(start)), true, nil
}

// jsonValue is an object or list result as a JSON value.
func jsonValue(x any) (optikpi.Value, bool, error) {
	j, err := jsonFloats(x)
	if err != nil {
		return optikpi.Value{}, false, err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return optikpi.Value{}, false, err
	}
	return optikpi.Value{Type: optikpi.ValueJSON, Text: string(b)}, true, nil
}

// jsonFloats copies x with its floats as json.Numbers, so that inside an
// object they render as a float result does.
func jsonFloats(x any) (any, error) {
	switch v := x.(type) {
	case float64:
		b, err := expression.AppendFloat(nil, v)
		return json.Number(b), err
	case time.Time:
		b, ok := optikpi.AppendDateTime(nil, v)
		if !ok {
			return nil, fmt.Errorf("%s is outside the years 0001 to 9999", v)
		}
		return string(b), nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			var err error
			if out[k], err = jsonFloats(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = jsonFloats(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return x, nil
}

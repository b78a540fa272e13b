package optikpi

import (
	"errors"
	"fmt"
	"unsafe"
)

// Record is one Optikpi record as field name to value. Values are string,
// json.Number (numbers keep their text, so integers stay integers), bool, nil,
// and for the JSON fields (custom_data, ext_data, event_data) also
// map[string]any, a string holding JSON, or json.RawMessage (an object or a
// JSON string holding JSON).
type Record map[string]any

// ValidateOptions tunes validation.
type ValidateOptions struct {
	// Strict adds the official SDKs' stricter rules (sdk-notes.md) to the
	// guide's: a strict server may reject what they reject. Default false.
	Strict bool
}

// rules indexes a model's required and requiredSet: 0 the guide's, 1 the
// strict ones.
func (o ValidateOptions) rules() int {
	if o.Strict {
		return 1
	}
	return 0
}

// ErrInvalid is matched by every *ValidationError.
var ErrInvalid = errors.New("optikpi: invalid record")

// ValidationError names the first field of a record that fails validation.
type ValidationError struct {
	Field string // JSON field name, such as "amount"
	Issue string // what is wrong, such as "missing required field"
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Issue) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Encoded is one validated record, encoded, ready to join a batch.
type Encoded struct {
	Kind    Kind
	UserID  string // for per-user ordering of state kinds; "" for system events
	EventID string // event_id, or "" for kinds without one
	JSON    []byte // one JSON object, never containing NaN or Infinity

	// mem is the start of the memory Encode or Builder.Encode made for e
	// alone, nil for an Encoded made by hand (see Alone).
	mem *byte
}

// Alone reports whether e's JSON and ids are where Encode or
// Builder.Encode put them, in memory that holds nothing else: keeping e
// keeps nothing more alive, so Block.Copy returns it as it is. It is false
// for an Encoded made by hand, or one whose JSON or ids were replaced.
func (e *Encoded) Alone() bool {
	if e.mem == nil || unsafe.SliceData(e.JSON) != e.mem {
		return false
	}
	// Addresses compared as numbers: a replaced id may make off the end of
	// mem's allocation, where even forming a pointer is invalid.
	at := func(s string, off int) bool {
		return uintptr(unsafe.Pointer(unsafe.StringData(s))) == uintptr(unsafe.Pointer(e.mem))+uintptr(off)
	}
	n := len(e.JSON)
	return (e.UserID == "" || at(e.UserID, n)) && (e.EventID == "" || at(e.EventID, n+len(e.UserID)))
}

// AppendBatch appends the JSON array of the given encoded objects to dst.
func AppendBatch(dst []byte, objects [][]byte) []byte {
	dst = append(dst, '[')
	for i, o := range objects {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, o...)
	}
	return append(dst, ']')
}

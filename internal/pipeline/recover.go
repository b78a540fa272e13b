package pipeline

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/mapper"
)

// panicFrames is how many frames of a panic's stack a dead letter keeps:
// enough to find the bug, short enough for the error header.
const panicFrames = 8

// mapRecord maps r, turning a panic into a failure.Internal of that record
// alone: one record the relay cannot handle costs only itself, never the
// process and with it every partition's progress.
func (p *Pipeline) mapRecord(r *kgo.Record) (res mapper.Result, err error) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		stack := shortStack()
		p.logger.Error("panic while mapping a record; dead-lettered as internal_error (a relay bug)",
			zap.String("topic", r.Topic), zap.Int32("partition", r.Partition), zap.Int64("offset", r.Offset),
			zap.String("panic", fmt.Sprint(v)), zap.String("stack", stack))
		res, err = mapper.Result{}, &mapper.Failure{Reason: failure.Internal, Message: fmt.Sprintf("panic: %v; at %s", v, stack)}
	}()
	if p.mapHook != nil {
		p.mapHook(r)
	}
	return p.mapper.Map(r)
}

// shortStack names the panicking frames, innermost first, as "func
// file:line" separated by " < ", without the runtime's own.
func shortStack() string {
	pcs := make([]uintptr, 32)
	n := runtime.Callers(3, pcs) // runtime.Callers, shortStack, the deferred func
	frames := runtime.CallersFrames(pcs[:n])
	var b strings.Builder
	for kept := 0; kept < panicFrames; {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			if kept > 0 {
				b.WriteString(" < ")
			}
			file := f.File
			if i := strings.LastIndexByte(file, '/'); i >= 0 {
				file = file[i+1:]
			}
			b.WriteString(f.Function + " " + file + ":" + strconv.Itoa(f.Line))
			kept++
		}
		if !more {
			break
		}
	}
	return b.String()
}

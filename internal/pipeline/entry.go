package pipeline

import (
	"errors"

	"github.com/optikpi/optikpi-relay/internal/dlq"
	"github.com/optikpi/optikpi-relay/internal/failure"
	"github.com/optikpi/optikpi-relay/internal/mapper"
	"github.com/optikpi/optikpi-relay/internal/sink"
)

// MappingFailure is the dead letter of a record the mapper refused with err;
// its Source is left for the caller.
func MappingFailure(err error) dlq.Entry {
	var f *mapper.Failure
	if !errors.As(err, &f) {
		f = &mapper.Failure{Reason: failure.Invalid, Message: err.Error()}
	}
	return dlq.Entry{Reason: f.Reason, Message: f.Error(), Route: f.Route, Output: f.Output}
}

// DeliveryFailure is the dead letter of a record of route with eventID that
// the sink gave up with f; its Source is left for the caller.
func DeliveryFailure(f *sink.Failure, route, eventID string) dlq.Entry {
	return dlq.Entry{
		Reason:      f.Reason,
		Message:     f.Error(),
		EventID:     eventID,
		Route:       route,
		Destination: f.Destination,
		Endpoint:    f.Endpoint,
		Status:      f.Status,
		APIError:    f.APIError,
		Attempts:    f.Attempts,
	}
}

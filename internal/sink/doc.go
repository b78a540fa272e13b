// Package sink delivers encoded records to Optikpi in batches, with rate limiting, retries, splitting of rejected batches and per-user order for state records.
//
// Each destination and endpoint has its own batcher. A batch is sent when it
// holds Options.BatchSize records, when the next record would take its body
// past Options.MaxBatchBytes, or when Options.Linger has passed since its
// first record. At most Options.InFlight requests per destination and
// endpoint are in flight; the optikpi.Client paces them to the endpoint's
// rate limit and retries throttled and transient failures.
//
// Every record handed to Sink.Send ends in exactly one way: acknowledged by
// Optikpi (done(nil)), failed with a *Failure (rejected, too large, or out of
// retries: the caller dead-letters it), or abandoned by Close when its
// deadline passes (done is never called, so the caller never commits it and
// it is delivered again after a restart). A rejected batch is split until the
// records the API refuses are isolated; a record fails only once it was
// rejected alone. A misconfigured destination (401, 403, 404, or a 4xx that
// is not the API's answer: optikpi.ClassifyAnswer) fails nothing:
// it stops, reports itself not ready, and probes again with the same batch
// until the credentials or the URL are fixed.
//
// Order: customer profiles and extended attributes (optikpi.Kind.IsState)
// are spread over InFlight lanes by a hash of the user id, and each lane
// sends one request at a time, retrying and splitting it in place before it
// sends the next, so a user's records reach Optikpi in the order they were
// handed to Send. Events have no such order: their batches go out
// concurrently, up to InFlight at a time.
package sink

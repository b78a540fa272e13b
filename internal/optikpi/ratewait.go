package optikpi

import "time"

// WithRateWaitObserver calls observe after every wait on an endpoint's rate
// limiter, with how long the attempt waited (0 when it did not), so that the
// time lost to pacing can be measured. It is called from the goroutine that
// sends, so it must be quick. Default: not observed.
func WithRateWaitObserver(observe func(kind Kind, waited time.Duration)) ClientOption {
	return func(c *clientConfig) { c.rateWait = observe }
}

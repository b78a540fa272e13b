package optikpi

import "golang.org/x/time/rate"

// RateLimit returns the requests per second configured for kind's endpoint
// (WithRateLimits, else the guide's): the whole account's allowance, before
// any ShareRateLimit. rate.Inf when unlimited, 0 for an invalid kind.
func (c *Client) RateLimit(kind Kind) rate.Limit {
	if !kind.Valid() {
		return 0
	}
	return c.cfg.limits[kind]
}

// ShareRateLimit paces kind's endpoint at its configured limit divided by n,
// so that n clients sharing one account's limit stay under it together; n
// below 1 counts as 1. It returns the new limit. An unlimited endpoint stays
// unlimited. The burst stays 1, the least a limiter can have, so it needs no
// dividing. Requests already waiting keep the pace they were given.
func (c *Client) ShareRateLimit(kind Kind, n int) rate.Limit {
	full := c.RateLimit(kind)
	if full == 0 || full == rate.Inf {
		return full
	}
	share := full / rate.Limit(max(n, 1))
	c.limiters[kind].SetLimit(share)
	return share
}

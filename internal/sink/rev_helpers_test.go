package sink

// revQueued is records_queued of every endpoint, by path.
func revQueued(s *Sink) map[string]int64 {
	out := make(map[string]int64)
	for _, ep := range s.metrics.queued.eps {
		out[ep.path] = ep.queued()
	}
	return out
}

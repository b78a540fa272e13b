package pipeline

import "github.com/twmb/franz-go/pkg/kgo"

// SetMapHook makes p call hook on every record just before mapping it, inside
// the same panic guard: tests inject a relay bug with it.
func SetMapHook(p *Pipeline, hook func(*kgo.Record)) { p.mapHook = hook }

package demo

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

// Emulators are Optikpi emulators standing in for a configuration's
// destinations, one each, on loopback.
type Emulators struct {
	ByName  map[string]*emulator.Emulator
	Tokens  map[string]optikpi.TokenSource // for pipeline.Options.Tokens
	servers []*httptest.Server
}

// StartEmulators starts a strict, validating, rate-limiting emulator per
// destination of cfg and points the destination's base URL at it. adjust, if
// not nil, may change each emulator's configuration before it starts.
func StartEmulators(cfg *config.Config, adjust func(name string, c *emulator.Config)) (*Emulators, error) {
	e := &Emulators{ByName: make(map[string]*emulator.Emulator), Tokens: make(map[string]optikpi.TokenSource)}
	for i := range cfg.Destinations {
		d := &cfg.Destinations[i]
		ecfg := emulator.DefaultConfig()
		ecfg.Token = "demo-token-" + d.Name
		ecfg.AccountID = d.AccountID
		ecfg.WorkspaceID = d.WorkspaceID
		ecfg.Strict = true // records a strict server refuses then show up as "rejected"
		ecfg.RateLimit = true
		if adjust != nil {
			adjust(d.Name, &ecfg)
		}
		em, err := emulator.New(ecfg)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("demo: emulator for destination %s: %w", d.Name, err)
		}
		s := httptest.NewServer(em)
		e.servers = append(e.servers, s)
		d.BaseURL = s.URL + "/apigw/ingest"
		e.ByName[d.Name] = em
		e.Tokens[d.Name] = optikpi.StaticToken(ecfg.Token)
	}
	return e, nil
}

// EventIDs returns the event ids of the records of kind every emulator
// accepted, in arrival order per emulator.
func (e *Emulators) EventIDs(k optikpi.Kind) []string {
	var out []string
	for _, em := range e.ByName {
		out = append(out, em.EventIDs(k)...)
	}
	return out
}

// Close stops every emulator.
func (e *Emulators) Close() {
	for _, s := range e.servers {
		s.Close()
	}
}

// emulatorURLs lists the destinations' base URLs, for the banner.
func emulatorURLs(cfg *config.Config) string {
	urls := make([]string, len(cfg.Destinations))
	for i, d := range cfg.Destinations {
		urls[i] = d.BaseURL
	}
	return strings.Join(urls, ", ")
}

package pipeline

import (
	"testing"

	"go.uber.org/zap"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/mapper"
)

// TestOptionsMapper: routes the caller compiled are used, not compiled
// again; without them the pipeline compiles its own.
func TestOptionsMapper(t *testing.T) {
	cfg, err := config.Load("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapper.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		given *mapper.Mapper
	}{{"given", m}, {"compiled", nil}} {
		p, err := newPipeline(cfg, tt.given, zap.NewNop())
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := p.mapper == m; got != (tt.given != nil) || p.mapper == nil {
			t.Errorf("%s: got mapper %p, want the given one: %v", tt.name, p.mapper, tt.given != nil)
		}
		p.cancelLife()
	}
}

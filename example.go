// Package optikpirelay holds what lives at the repository's root and the
// code needs: the example configuration, kept in one place.
package optikpirelay

import (
	"bytes"
	_ "embed"
)

//go:embed config.example.yaml
var exampleConfig []byte

// ExampleConfigName is the example configuration's file name, for messages.
const ExampleConfigName = "config.example.yaml"

// ExampleConfig returns a copy of config.example.yaml, which `relay demo`
// runs from any directory.
func ExampleConfig() []byte { return bytes.Clone(exampleConfig) }

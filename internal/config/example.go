package config

import (
	"bytes"
	_ "embed"
)

// example is the example configuration; the repository's root
// config.example.yaml is a link to the same file, so it has one home.
//
//go:embed example.yaml
var example []byte

// ExampleName names the example configuration in messages.
const ExampleName = "config.example.yaml"

// Example returns a copy of the example configuration, which `relay demo`
// runs from any directory.
func Example() []byte { return bytes.Clone(example) }

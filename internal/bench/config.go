package bench

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/optikpi/optikpi-relay/internal/config"
	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

// tokenEnv carries the bench's API token to the emulator and the relay.
const (
	tokenEnv = "OPTIKPI_TOKEN"
	token    = "relay-bench-token"
)

// relayConfig is the configuration at src pointed at the bench's broker
// and emulator, without the TLS, SASL and proxy that lead elsewhere: its
// routes, batching and commit settings stay as they are.
// Without limits the relay's own rate limits are lifted, as the
// emulator's are. It writes it to dir and returns its path and the loaded
// configuration.
func relayConfig(src, dir string, brokers, baseURL, listen string, limits bool) (string, *config.Config, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) != 1 {
		return "", nil, fmt.Errorf("%s: not a YAML document: %v", src, err)
	}
	root := doc.Content[0]
	dests := lookup(root, "destinations")
	if dests == nil || dests.Kind != yaml.SequenceNode || len(dests.Content) != 1 {
		return "", nil, fmt.Errorf("%s: the bench drives one emulator, so wants exactly one destination", src)
	}
	edits := []struct {
		node  *yaml.Node
		path  []string
		value any
	}{
		{root, []string{"kafka", "brokers"}, []string{brokers}},
		{root, []string{"kafka", "tls"}, nil},
		{root, []string{"kafka", "sasl"}, nil},
		// The emulator is local plain HTTP, as in relay demo.
		{root, []string{"sink", "tls"}, nil},
		{root, []string{"sink", "proxy_url"}, nil},
		{dests.Content[0], []string{"base_url"}, baseURL},
		{dests.Content[0], []string{"token_env"}, tokenEnv},
		{dests.Content[0], []string{"token_file"}, nil},
		{root, []string{"observability", "listen"}, listen},
		{root, []string{"observability", "log_format"}, "json"},
	}
	for _, e := range edits {
		if err := set(e.node, e.path, e.value); err != nil {
			return "", nil, fmt.Errorf("%s: %w", src, err)
		}
	}
	if !limits {
		// rate.Inf is math.MaxFloat64: the sink then has no limiter.
		unlimited := make(map[string]float64)
		for _, k := range optikpi.Kinds() {
			unlimited[k.String()] = math.MaxFloat64
		}
		if err := set(root, []string{"sink", "rate_limits"}, unlimited); err != nil {
			return "", nil, fmt.Errorf("%s: %w", src, err)
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", nil, err
	}
	path := filepath.Join(dir, "relay.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return "", nil, err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return "", nil, fmt.Errorf("the bench's configuration from %s: %w", src, err)
	}
	return path, cfg, nil
}

// lookup returns the value of key in mapping n, or nil.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	if at := keyAt(n, key); at >= 0 {
		return n.Content[at+1]
	}
	return nil
}

// keyAt returns the index of key's node in mapping n's Content, or -1.
func keyAt(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// set sets path under mapping n to value, creating mappings on the way; a
// nil value removes the key.
func set(n *yaml.Node, path []string, value any) error {
	for i, key := range path {
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a mapping", key)
		}
		at := keyAt(n, key)
		last := i == len(path)-1
		switch {
		case last && value == nil:
			if at >= 0 {
				n.Content = append(n.Content[:at], n.Content[at+2:]...)
			}
			return nil
		case last:
			var v yaml.Node
			if err := v.Encode(value); err != nil {
				return err
			}
			if at >= 0 {
				n.Content[at+1] = &v
			} else {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, &v)
			}
			return nil
		case at < 0:
			m := &yaml.Node{Kind: yaml.MappingNode}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, m)
			n = m
		default:
			n = n.Content[at+1]
		}
	}
	return nil
}

package main

import (
	"fmt"
	"io"
)

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("validate", stderr)
	noSecrets := fs.Bool("no-secrets", false, "skip reading tokens, passwords and TLS files (for CI machines that have none)")
	cfg, _, path, err := loadConfigFlags(fs, args)
	if err != nil {
		return err
	}
	what := "secrets and files resolved"
	if *noSecrets {
		what = "secrets not checked"
	} else if err := cfg.CheckSecrets(); err != nil {
		return fmt.Errorf("%w\n(run with --no-secrets where the secrets are not available, such as in CI)", err)
	}
	fmt.Fprintf(stdout, "%s: ok (%d destinations, %d routes; %s)\n", path, len(cfg.Destinations), len(cfg.Routing.Routes), what)
	return nil
}

package main

import (
	"fmt"
	"io"

	"github.com/optikpi/optikpi-relay/internal/mapper"
)

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	cfg, path, err := loadConfig("validate", args, stderr)
	if err != nil {
		return err
	}
	if _, err := mapper.New(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d destinations, %d routes)\n", path, len(cfg.Destinations), len(cfg.Routing.Routes))
	return nil
}

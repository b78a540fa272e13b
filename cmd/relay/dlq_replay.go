package main

import (
	"context"
	"fmt"
	"io"
)

// Owned by the test/replay work: placeholders until it lands.

func cmdDLQTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("relay dlq test: not built yet")
}

func cmdDLQReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("relay dlq replay: not built yet")
}

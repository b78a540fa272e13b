package main

import (
	"context"
	"fmt"
	"io"
)

// Owned by the summary/inspect work: placeholders until it lands.

func cmdDLQSummary(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("relay dlq summary: not built yet")
}

func cmdDLQInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("relay dlq inspect: not built yet")
}

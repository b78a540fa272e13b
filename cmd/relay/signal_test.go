package main

import (
	"syscall"
	"testing"
	"time"
)

// TestSignalContext: the first signal cancels the context and the drain
// begins; the second exits at once with status 130.
func TestSignalContext(t *testing.T) {
	exited := make(chan int, 1)
	ctx, stop := signalContext(0, func(code int) { exited <- code })
	defer stop()

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("first SIGTERM did not cancel the context")
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d after the first signal; want the drain to start", code)
	default:
	}

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		if code != 130 {
			t.Errorf("second SIGTERM exited with %d, want 130", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second SIGTERM did not exit")
	}
}

// TestSignalContextStop: after stop, the context is done and nothing exits.
func TestSignalContextStop(t *testing.T) {
	exited := make(chan int, 1)
	ctx, stop := signalContext(0, func(code int) { exited <- code })
	stop()
	stop() // a second stop is harmless
	if ctx.Err() == nil {
		t.Error("context not done after stop")
	}
	select {
	case code := <-exited:
		t.Errorf("exited with %d after stop", code)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestSignalContextEcho: a signal soon after the first (timeout(1) signals
// the process and its group) is the same interrupt: the drain goes on.
func TestSignalContextEcho(t *testing.T) {
	exited := make(chan int, 1)
	ctx, stop := signalContext(time.Hour, func(code int) { exited <- code })
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d on the echo of the first signal; want the drain to go on", code)
	case <-time.After(200 * time.Millisecond):
	}
}

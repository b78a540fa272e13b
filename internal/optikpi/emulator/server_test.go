package emulator

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/optikpi/optikpi-relay/internal/optikpi"
)

func TestRun(t *testing.T) {
	t.Setenv("OPTIKPI_TOKEN", testToken)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"--listen", "127.0.0.1:0", "--account-id", testAccount, "--workspace-id", testWorkspace,
			"--rate-limit", "off", "--validate", "on", "--strict", "--fail-rate", "0", "--latency", "1ms"}, pw)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the base URL: %v (Run: %v)", err, <-done)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/apigw/ingest") {
		t.Fatalf("Run printed %q; want http://127.0.0.1:PORT/apigw/ingest", line)
	}
	go io.Copy(io.Discard, pr)

	c, err := optikpi.NewClient(base, testAccount, testWorkspace, optikpi.StaticToken(testToken))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Send(context.Background(), optikpi.KindDeposit, batch(t, 0, 4))
	if err != nil || resp.Count != 4 {
		t.Fatalf("Send = %+v, %v; want 4 records accepted", resp, err)
	}
	// --strict is on: a deposit without payment_method is refused.
	noMethod := []byte(strings.Replace(string(encoded(t, 9, 1)[0]), `"payment_method":"card",`, "", 1))
	if _, err := c.Send(context.Background(), optikpi.KindDeposit, noMethod); !errors.Is(err, optikpi.ErrRejected) {
		t.Errorf("Send without payment_method under --strict: %v; want rejected", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v; want nil after a graceful shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestRunFlagErrors(t *testing.T) {
	t.Setenv("OPTIKPI_TOKEN", "")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--account-id", "a", "--workspace-id", "w"}, "token"},
		{[]string{"--token", "t", "--workspace-id", "w"}, "account-id"},
		{[]string{"--token", "t", "--account-id", "a", "--workspace-id", "w", "--rate-limit", "maybe"}, "on or off"},
		{[]string{"--token", "t", "--account-id", "a", "--workspace-id", "w", "--fail-rate", "2"}, "fail rate"},
		{[]string{"--token", "t", "--account-id", "a", "--workspace-id", "w", "--listen", "nowhere"}, "listen"},
		{[]string{"--token", "t", "--account-id", "a", "--workspace-id", "w", "extra"}, "unexpected argument"},
		{[]string{"--bogus"}, "bogus"},
	}
	for _, c := range cases {
		var out strings.Builder
		err := Run(context.Background(), c.args, &out)
		if err == nil || !strings.Contains(err.Error()+out.String(), c.want) {
			t.Errorf("Run(%q) = %v (output %q); want an error about %q", c.args, err, out.String(), c.want)
		}
	}
	var out strings.Builder
	if err := Run(context.Background(), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-rate-limit") {
		t.Errorf("Run(-h) = %v, output %q; want flag.ErrHelp and the usage", err, out.String())
	}
}

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/optikpi/optikpi-relay/internal/demo"
	"github.com/optikpi/optikpi-relay/internal/optikpi/emulator"
)

func cmdDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "kafka":
			return cmdDevKafka(ctx, args[1:], stdout, stderr)
		case "optikpi":
			stopProfile, err := startCPUProfile()
			if err != nil {
				return err
			}
			defer stopProfile()
			return emulator.Run(ctx, args[1:], stdout)
		case "produce":
			return cmdDevProduce(ctx, args[1:], stdout, stderr)
		}
	}
	return groupUsage("dev", args, stdout, stderr)
}

// topicFlags collects repeated --topic NAME:PARTITIONS flags.
type topicFlags map[string]int32

func (t topicFlags) String() string { return fmt.Sprint(map[string]int32(t)) }

func (t topicFlags) Set(v string) error {
	name, parts, found := strings.Cut(v, ":")
	n := int64(1)
	if found {
		var err error
		if n, err = strconv.ParseInt(parts, 10, 32); err != nil || n < 1 {
			return fmt.Errorf("want NAME:PARTITIONS with PARTITIONS >= 1, got %q", v)
		}
	}
	if name == "" {
		return fmt.Errorf("want NAME:PARTITIONS, got %q", v)
	}
	t[name] = int32(n)
	return nil
}

func cmdDevKafka(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev kafka", stderr)
	listen := fs.String("listen", "127.0.0.1:9092", "address to listen on")
	dataDir := fs.String("data-dir", "", "directory that keeps topics, offsets and groups across restarts (default: in memory)")
	topics := topicFlags{}
	fs.Var(topics, "topic", "topic to create, NAME:PARTITIONS (repeatable)")
	if err := parse(fs, args); err != nil {
		return err
	}
	host, portText, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("--listen: port %q: %w", portText, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(port),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, net.JoinHostPort(host, portText))
		}),
		kfake.AllowAutoTopicCreation(),
	}
	if *dataDir != "" {
		opts = append(opts, kfake.DataDir(*dataDir))
	}
	for name, n := range topics {
		opts = append(opts, kfake.SeedTopics(n, name))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start broker: %w", err)
	}
	defer c.Close()
	fmt.Fprintf(stdout, "kafka listening on %s\n", strings.Join(c.ListenAddrs(), ","))
	<-ctx.Done()
	fmt.Fprintln(stdout, "kafka stopping")
	return nil
}

func cmdDevProduce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("dev produce", stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "comma-separated Kafka brokers")
	records := fs.Int("records", 10000, "events to produce, then exit")
	rate := fs.Int("rate", 0, "produce about this many events a second until interrupted, instead of --records")
	seed := fs.Int64("seed", 1, "generator seed: the same seed produces the same events")
	if err := parse(fs, args); err != nil {
		return err
	}
	n, err := demo.Produce(ctx, strings.Split(*brokers, ","), *records, *rate, *seed)
	fmt.Fprintf(stdout, "produced %d events of the reference schema (docs/events.md)\n", n)
	return err
}

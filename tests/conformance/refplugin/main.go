// Command refplugin is a reference for checking the conformance harness
// itself: a plugin written with NRI's own Go stub that keeps uid-mapper's
// command-line and environment contract (pre-started via NRI_PLUGIN_SOCKET,
// or `run --socket PATH --name NAME --idx NN [--config FILE] [--log-level L]`
// with reconnect and exit 0 on SIGTERM/SIGINT) and answers CreateContainer
// with an empty adjustment. Build it and point the suite at it:
//
//	go build -o /tmp/refplugin ./refplugin
//	UID_MAPPER_BIN=/tmp/refplugin go test -run 'Test[^M]' .
//
// It passes every test but those of uid-mapper's own bad-input handling,
// where NRI's Go stub differs: it answers unsubscribed methods with success
// rather than Unimplemented (TestUnimplementedKeepsConnection), reports
// undecodable requests as Internal or crashes on them
// (TestGarbageProtobufGetsInvalidArgument), and neither rejects oversized
// frames nor answers oversized requests (TestOversized*). The TestMapper*
// tests need the real plugin.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/stub"
)

type plugin struct{}

func (plugin) Configure(_ context.Context, config, runtime, version string) (api.EventMask, error) {
	fmt.Fprintf(os.Stderr, "refplugin: configured by %s %s (%d bytes of config)\n", runtime, version, len(config))
	return api.MustParseEventMask("CreateContainer,RemoveContainer,StopPodSandbox,RemovePodSandbox"), nil
}

func (plugin) Synchronize(_ context.Context, pods []*api.PodSandbox, ctrs []*api.Container) ([]*api.ContainerUpdate, error) {
	fmt.Fprintf(os.Stderr, "refplugin: synchronized %d pods, %d containers\n", len(pods), len(ctrs))
	return nil, nil
}

func (plugin) CreateContainer(_ context.Context, pod *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, []*api.ContainerUpdate, error) {
	fmt.Fprintf(os.Stderr, "refplugin: create %s/%s/%s\n", pod.Namespace, pod.Name, ctr.Name)
	return &api.ContainerAdjustment{}, nil, nil
}

func (plugin) RemoveContainer(context.Context, *api.PodSandbox, *api.Container) error { return nil }
func (plugin) StopPodSandbox(context.Context, *api.PodSandbox) error                  { return nil }
func (plugin) RemovePodSandbox(context.Context, *api.PodSandbox) error                { return nil }

func main() {
	if os.Getenv(api.PluginSocketEnvVar) != "" {
		s, err := stub.New(plugin{})
		if err == nil {
			err = s.Run(context.Background())
		}
		// The runtime closing the connection is the normal end.
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "refplugin: %v\n", err)
		}
		os.Exit(0)
	}
	if len(os.Args) < 2 || os.Args[1] != "run" {
		fmt.Fprintln(os.Stderr, "usage: refplugin run --socket PATH --name NAME --idx NN")
		os.Exit(2)
	}
	flags := flag.NewFlagSet("run", flag.ExitOnError)
	socket := flags.String("socket", api.DefaultSocketPath, "runtime socket")
	name := flags.String("name", "uid-mapper", "plugin name")
	idx := flags.String("idx", "00", "plugin index")
	flags.String("config", "", "configuration file (ignored)")
	flags.String("log-level", "info", "log level (ignored)")
	flags.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		s, err := stub.New(plugin{}, stub.WithSocketPath(*socket),
			stub.WithPluginName(*name), stub.WithPluginIdx(*idx))
		if err != nil {
			fmt.Fprintf(os.Stderr, "refplugin: %v\n", err)
			os.Exit(2)
		}
		start := time.Now()
		err = s.Run(ctx)
		fmt.Fprintf(os.Stderr, "refplugin: disconnected: %v\n", err)
		if time.Since(start) > 5*time.Second {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

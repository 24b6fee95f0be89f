package conformance

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"github.com/containerd/nri/pkg/net/multiplex"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const pluginService = "nri.pkg.api.v1alpha1.Plugin"

// errorLines returns the plugin's error-level log lines after mark
// (uid-mapper logs "TIME uid-mapper LEVEL message").
func errorLines(p *PluginProcess, mark int) []string {
	level := regexp.MustCompile(`^\S+ uid-mapper error `)
	var lines []string
	for _, line := range p.Stderr.Since(mark) {
		if level.MatchString(line) {
			lines = append(lines, line)
		}
	}
	return lines
}

// createWorks checks that the plugin still answers a real CreateContainer.
func createWorks(t *testing.T, b *BareRuntime) {
	t.Helper()
	pod := NewPod(testNamespace, "probe")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := b.Plugin.CreateContainer(ctx, &api.CreateContainerRequest{Pod: pod, Container: NewContainer(pod, "app")}); err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
}

// Methods the plugin does not implement get Unimplemented; the connection
// stays up. (A runtime falls back to StateChange on Unimplemented.)
func TestUnimplementedKeepsConnection(t *testing.T) {
	b, _ := LaunchBare(t, "00", "uid-mapper")
	b.Handshake(skipConfig)
	pod := NewPod(testNamespace, "unimpl")
	ctr := NewContainer(pod, "app")
	calls := []struct {
		service, method string
		req, resp       interface{}
	}{
		{pluginService, "UpdateContainer", &api.UpdateContainerRequest{Pod: pod, Container: ctr}, &api.UpdateContainerResponse{}},
		{pluginService, "RunPodSandbox", &api.RunPodSandboxRequest{Pod: pod}, &api.RunPodSandboxResponse{}},
		{pluginService, "NoSuchMethod", &api.Empty{}, &api.Empty{}},
		{"nri.pkg.api.v1alpha1.NoSuchService", "Configure", &api.ConfigureRequest{}, &api.ConfigureResponse{}},
	}
	for _, c := range calls {
		err := b.Call(c.service, c.method, c.req, c.resp)
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("%s/%s: got %v, want status Unimplemented", c.service, c.method, err)
		}
	}
	createWorks(t, b)
}

// A request whose payload is not the protobuf message the method takes gets
// InvalidArgument; the connection stays up.
func TestGarbageProtobufGetsInvalidArgument(t *testing.T) {
	b, p := LaunchBare(t, "00", "uid-mapper")
	b.Handshake(skipConfig)
	garbage := map[string]interface{}{
		// field 1 (pod) holds an endless varint
		"bad varint": wrapperspb.Bytes(bytes.Repeat([]byte{0xff}, 12)),
		// field 1 (pod) claims more bytes than there are
		"truncated": wrapperspb.Bytes([]byte{0x0a, 0x7f, 0x01}),
		// field 2 (container) sent as a varint instead of a message
		"wrong wire type": &api.LogRequest{Level: api.LogRequest_LEVEL_ERROR},
	}
	for name, req := range garbage {
		err := b.Call(pluginService, "CreateContainer", req, &api.CreateContainerResponse{})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s: got %v, want status InvalidArgument", name, err)
		}
	}
	createWorks(t, b)
	if !p.Running() {
		t.Fatal("plugin exited")
	}
}

// Bytes that break the framing (the stream cannot be resynchronized): the
// plugin logs one error line and closes the connection; an external plugin
// then reconnects and serves again.
func TestBrokenFrameExternalReconnects(t *testing.T) {
	cases := map[string][]byte{
		// a ttrpc header claiming a 4 GiB message of type 0xff
		"garbage ttrpc header": muxFrame(multiplex.PluginServiceConn, bytes.Repeat([]byte{0xff}, 16)),
		// a multiplexer frame of 64 MiB, more than any ttrpc message can be
		"oversized frame": append(muxHeader(multiplex.PluginServiceConn, 64<<20), 1, 2, 3),
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			l, socket := ListenBare(t)
			p := StartExternal(t, socket)
			b := AcceptBare(t, l)
			b.Handshake(skipConfig)

			mark := p.Stderr.Mark()
			if err := b.WriteRaw(frame); err != nil {
				t.Fatal(err)
			}
			if !b.WaitClosed(5 * time.Second) {
				t.Fatal("the plugin kept the connection after a broken frame")
			}
			again := AcceptBare(t, l)
			again.Handshake(skipConfig)
			createWorks(t, again)
			if lines := errorLines(p, mark); len(lines) != 1 {
				t.Fatalf("want one error line about the broken frame, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
			}
		})
	}
}

// A pre-started plugin has no one to reconnect to: on a broken frame it logs
// one error line and exits (it is not killed by a signal, and does not hang).
func TestBrokenFramePreStartedExits(t *testing.T) {
	b, p := LaunchBare(t, "00", "uid-mapper")
	b.Handshake(skipConfig)
	mark := p.Stderr.Mark()
	if err := b.WriteRaw(muxFrame(multiplex.PluginServiceConn, bytes.Repeat([]byte{0xff}, 16))); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exit code %d", code)
	if lines := errorLines(p, mark); len(lines) != 1 {
		t.Fatalf("want one error line about the broken frame, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

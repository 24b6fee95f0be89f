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
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

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
	b.Handshake(skipConfig(t))
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
	b.Handshake(skipConfig(t))
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

// A multiplexer frame larger than any ttrpc message breaks the stream (it
// cannot be skipped safely): the plugin logs one error line and closes the
// connection; an external plugin then reconnects and serves again.
func TestOversizedFrameExternalReconnects(t *testing.T) {
	l, socket := ListenBare(t)
	p := StartExternal(t, socket)
	b := AcceptBare(t, l)
	b.Handshake(skipConfig(t))

	mark := p.Stderr.Mark()
	if err := b.WriteRaw(append(muxHeader(multiplex.PluginServiceConn, 64<<20), 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	if !b.WaitClosed(5 * time.Second) {
		t.Fatal("the plugin kept the connection after a 64 MiB frame header")
	}
	again := AcceptBare(t, l)
	again.Handshake(skipConfig(t))
	createWorks(t, again)
	if lines := errorLines(p, mark); len(lines) != 1 {
		t.Fatalf("want one error line about the broken frame, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// A pre-started plugin has no one to reconnect to: on a broken stream it
// logs one error line and exits with status 1 (no signal, no hang).
func TestOversizedFramePreStartedExits(t *testing.T) {
	b, p := LaunchBare(t, "00", "uid-mapper")
	b.Handshake(skipConfig(t))
	mark := p.Stderr.Mark()
	if err := b.WriteRaw(append(muxHeader(multiplex.PluginServiceConn, 64<<20), 1, 2, 3)); err != nil {
		t.Fatal(err)
	}
	code, err := p.Wait(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 1 {
		t.Fatalf("exit code %d after a broken stream, want 1 (connection failure)", code)
	}
	if lines := errorLines(p, mark); len(lines) != 1 {
		t.Fatalf("want one error line about the broken frame, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// A whole ttrpc request over 4 MiB is refused like ttrpc refuses it:
// ResourceExhausted on its stream, and the connection goes on.
func TestOversizedRequestGetsResourceExhausted(t *testing.T) {
	b, p := LaunchBare(t, "00", "uid-mapper")
	b.Handshake(skipConfig(t)) // the generated client used streams 1 and 3
	if err := b.RawRequest(5, "CreateContainer", make([]byte, maxTTRPCLength)); err != nil {
		t.Fatal(err)
	}
	rpl, err := b.RawReply(5, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code := codes.Code(rpl.GetStatus().GetCode()); code != codes.ResourceExhausted {
		t.Fatalf("oversized request answered with %v (%q), want ResourceExhausted", code, rpl.GetStatus().GetMessage())
	}

	pod := NewPod(testNamespace, "after-oversized")
	req, err := proto.Marshal(&api.CreateContainerRequest{Pod: pod, Container: NewContainer(pod, "app")})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.RawRequest(7, "CreateContainer", req); err != nil {
		t.Fatal(err)
	}
	if rpl, err = b.RawReply(7, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if code := codes.Code(rpl.GetStatus().GetCode()); code != codes.OK {
		t.Fatalf("CreateContainer after an oversized request: %v (%q)", code, rpl.GetStatus().GetMessage())
	}
	if !p.Running() {
		t.Fatal("plugin exited")
	}
}

// A ttrpc header that claims a 4 GiB message is an oversized request whose
// bytes the plugin skips, as ttrpc does; the runtime gives up on the
// connection when its request times out (the adaptation then closes it).
// The plugin must notice that close while skipping, and reconnect.
func TestRuntimeClosesStuckConnection(t *testing.T) {
	l, socket := ListenBare(t)
	p := StartExternal(t, socket)
	b := AcceptBare(t, l)
	b.Handshake(skipConfig(t))
	if err := b.WriteRaw(muxFrame(multiplex.PluginServiceConn, bytes.Repeat([]byte{0xff}, 16))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	b.Close()
	again := AcceptBare(t, l)
	again.Handshake(skipConfig(t))
	createWorks(t, again)
	if !p.Running() {
		t.Fatal("plugin exited")
	}
}

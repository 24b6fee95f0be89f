package conformance

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	nrinet "github.com/containerd/nri/pkg/net"
	"github.com/containerd/nri/pkg/net/multiplex"
	"github.com/containerd/ttrpc"
	"google.golang.org/protobuf/proto"
)

// BareRuntime is the runtime end of one plugin connection, assembled from
// the same multiplexer, ttrpc and generated API the adaptation uses, so a
// test can do what the adaptation never does on its own.
type BareRuntime struct {
	t      *testing.T
	trunk  *tapConn
	mux    multiplex.Mux
	rpcc   *ttrpc.Client
	rpcs   *ttrpc.Server
	Plugin api.PluginService

	registered chan *api.RegisterPluginRequest
	closed     chan struct{} // closed when the connection is gone
}

// AcceptBare waits for an external plugin to connect to l.
func AcceptBare(t *testing.T, l *net.UnixListener) *BareRuntime {
	t.Helper()
	l.SetDeadline(time.Now().Add(registerTimeout))
	conn, err := l.Accept()
	if err != nil {
		t.Fatalf("no plugin connected: %v", err)
	}
	return newBareRuntime(t, conn)
}

// ListenBare opens a socket for external plugins in a fresh directory.
func ListenBare(t *testing.T) (*net.UnixListener, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "nri-bare-")
	if err != nil {
		t.Fatal(err)
	}
	path := dir + "/nri.sock"
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); os.RemoveAll(dir) })
	return l, path
}

// LaunchBare starts the plugin as containerd starts a pre-installed one:
// its end of a socket pair as fd 3, an environment of exactly the three NRI
// variables, stdout discarded; stderr is kept for the test.
func LaunchBare(t *testing.T, idx, name string) (*BareRuntime, *PluginProcess) {
	t.Helper()
	return launchBare(t, idx, name, exec.Command(pluginBinary))
}

// LaunchBareOnPrivateRun is LaunchBare with the plugin in a mount namespace
// of its own on an empty /run, for a test that leaves the plugin to its
// built-in defaults: their state_dir, /run/uid-mapper, then never appears
// on the test machine. The plugin keeps the pid and environment LaunchBare
// gives it (unshare and sh exec it).
func LaunchBareOnPrivateRun(t *testing.T, idx, name string) (*BareRuntime, *PluginProcess) {
	t.Helper()
	return launchBare(t, idx, name, exec.Command("/usr/bin/unshare", "--mount", "--propagation", "private",
		"/bin/sh", "-c", `/bin/mount -t tmpfs uid-mapper-test /run && exec "$0"`, pluginBinary))
}

func launchBare(t *testing.T, idx, name string, cmd *exec.Cmd) (*BareRuntime, *PluginProcess) {
	t.Helper()
	pair, err := nrinet.NewSocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer pair.Close()
	local, err := pair.LocalConn()
	if err != nil {
		t.Fatal(err)
	}
	peer := pair.PeerFile()
	cmd.ExtraFiles = []*os.File{peer}
	cmd.Env = []string{
		api.PluginNameEnvVar + "=" + name,
		api.PluginIdxEnvVar + "=" + idx,
		api.PluginSocketEnvVar + "=3",
	}
	p := startProcess(t, cmd)
	peer.Close()
	return newBareRuntime(t, local), p
}

func newBareRuntime(t *testing.T, conn net.Conn) *BareRuntime {
	b := &BareRuntime{
		t:          t,
		trunk:      &tapConn{Conn: conn},
		registered: make(chan *api.RegisterPluginRequest, 4),
		closed:     make(chan struct{}),
	}
	b.mux = multiplex.Multiplex(b.trunk)
	pconn, err := b.mux.Open(multiplex.PluginServiceConn)
	if err != nil {
		t.Fatal(err)
	}
	b.rpcc = ttrpc.NewClient(pconn, ttrpc.WithOnClose(func() { close(b.closed) }))
	b.Plugin = api.NewPluginClient(b.rpcc)
	if b.rpcs, err = ttrpc.NewServer(); err != nil {
		t.Fatal(err)
	}
	api.RegisterRuntimeService(b.rpcs, b)
	rl, err := b.mux.Listen(multiplex.RuntimeServiceConn)
	if err != nil {
		t.Fatal(err)
	}
	go b.rpcs.Serve(context.Background(), rl)
	t.Cleanup(b.Close)
	return b
}

// RegisterPlugin implements the Runtime service for the plugin.
func (b *BareRuntime) RegisterPlugin(_ context.Context, req *api.RegisterPluginRequest) (*api.Empty, error) {
	b.registered <- req
	return &api.Empty{}, nil
}

func (b *BareRuntime) UpdateContainers(context.Context, *api.UpdateContainersRequest) (*api.UpdateContainersResponse, error) {
	return &api.UpdateContainersResponse{}, nil
}

// Registered waits for the plugin's RegisterPlugin call.
func (b *BareRuntime) Registered() *api.RegisterPluginRequest {
	b.t.Helper()
	select {
	case req := <-b.registered:
		return req
	case <-b.closed:
		b.t.Fatal("plugin closed the connection before registering")
	case <-time.After(registerTimeout):
		b.t.Fatal("plugin did not call RegisterPlugin")
	}
	return nil
}

// Configure sends the Configure request the adaptation sends.
func (b *BareRuntime) Configure(config string) (*api.ConfigureResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.Plugin.Configure(ctx, &api.ConfigureRequest{
		Config:              config,
		RuntimeName:         runtimeName,
		RuntimeVersion:      runtimeVersion,
		RegistrationTimeout: 5000,
		RequestTimeout:      2000,
	})
}

// Synchronize sends one Synchronize request (one part when more is set).
func (b *BareRuntime) Synchronize(pods []*api.PodSandbox, ctrs []*api.Container, more bool) (*api.SynchronizeResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.Plugin.Synchronize(ctx, &api.SynchronizeRequest{Pods: pods, Containers: ctrs, More: more})
}

// Handshake runs registration as the adaptation does (RegisterPlugin,
// Configure with config, an empty Synchronize) and returns the events the
// plugin subscribed to.
func (b *BareRuntime) Handshake(config string) api.EventMask {
	b.t.Helper()
	b.Registered()
	rpl, err := b.Configure(config)
	if err != nil {
		b.t.Fatalf("Configure: %v", err)
	}
	if _, err := b.Synchronize(nil, nil, false); err != nil {
		b.t.Fatalf("Synchronize: %v", err)
	}
	return api.EventMask(rpl.Events)
}

// Call invokes any method by name; for services and methods the generated
// client does not know.
func (b *BareRuntime) Call(service, method string, req, resp interface{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return b.rpcc.Call(ctx, service, method, req, resp)
}

// WriteRaw writes bytes straight onto the connection, under the framing.
func (b *BareRuntime) WriteRaw(p []byte) error {
	_, err := b.trunk.Write(p)
	return err
}

// WaitClosed waits until the plugin has closed the connection.
func (b *BareRuntime) WaitClosed(timeout time.Duration) bool {
	select {
	case <-b.closed:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (b *BareRuntime) Close() {
	b.rpcc.Close()
	b.rpcs.Close()
	b.mux.Close()
}

// RawRequest writes a ttrpc request for the Plugin service by hand, split
// into multiplexer frames as needed; its reply is read with RawReply. The
// stream id must be odd and larger than any used before on the connection,
// and the generated client must not be used afterwards (its ids would go
// backwards).
func (b *BareRuntime) RawRequest(stream uint32, method string, payload []byte) error {
	msg, err := proto.Marshal(&ttrpc.Request{Service: pluginService, Method: method, Payload: payload})
	if err != nil {
		return err
	}
	data := append(ttrpcHeader(uint32(len(msg)), stream, ttrpcRequest), msg...)
	var frames []byte
	for len(data) > 0 {
		n := min(len(data), maxMuxPayload)
		frames = append(frames, muxFrame(multiplex.PluginServiceConn, data[:n])...)
		data = data[n:]
	}
	return b.WriteRaw(frames)
}

// RawReply waits for the plugin's reply on a stream of the Plugin service
// connection, found in everything the plugin has sent.
func (b *BareRuntime) RawReply(stream uint32, timeout time.Duration) (*ttrpc.Response, error) {
	deadline := time.Now().Add(timeout)
	for {
		if rpl, err := findReply(b.trunk.received(), stream); rpl != nil || err != nil {
			return rpl, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no reply on stream %d within %v", stream, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// findReply demultiplexes the bytes a plugin sent and returns its ttrpc
// response on stream of the Plugin service connection, or nil.
func findReply(sent []byte, stream uint32) (*ttrpc.Response, error) {
	var plugin []byte // the Plugin service connection's byte stream
	for len(sent) >= 8 {
		conn, n := binary.BigEndian.Uint32(sent), binary.BigEndian.Uint32(sent[4:])
		if uint32(len(sent)-8) < n {
			break
		}
		if multiplex.ConnID(conn) == multiplex.PluginServiceConn {
			plugin = append(plugin, sent[8:8+n]...)
		}
		sent = sent[8+n:]
	}
	for len(plugin) >= 10 {
		n, id, kind := binary.BigEndian.Uint32(plugin), binary.BigEndian.Uint32(plugin[4:]), plugin[8]
		if uint32(len(plugin)-10) < n {
			break
		}
		if id == stream && kind == ttrpcResponse {
			rpl := &ttrpc.Response{}
			return rpl, proto.Unmarshal(plugin[10:10+n], rpl)
		}
		plugin = plugin[10+n:]
	}
	return nil, nil
}

// tapConn keeps a copy of everything read from the plugin.
type tapConn struct {
	net.Conn
	mu  sync.Mutex
	got []byte
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.got = append(c.got, p[:n]...)
	c.mu.Unlock()
	return n, err
}

func (c *tapConn) received() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

const (
	pluginService  = "nri.pkg.api.v1alpha1.Plugin"
	ttrpcRequest   = 1
	ttrpcResponse  = 2
	maxTTRPCLength = 4 << 20
	// NRI's multiplexer frames carry at most one whole ttrpc message.
	maxMuxPayload = 10 + maxTTRPCLength
)

// muxHeader is the multiplexer's frame header: conn id (u32 BE) | length
// (u32 BE).
func muxHeader(conn multiplex.ConnID, length uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(conn)), length)
}

// muxFrame frames payload for one multiplexed connection.
func muxFrame(conn multiplex.ConnID, payload []byte) []byte {
	return append(muxHeader(conn, uint32(len(payload))), payload...)
}

// ttrpcHeader is ttrpc's message header: length (u32 BE) | stream id (u32
// BE) | type | flags (none).
func ttrpcHeader(length, stream uint32, msgType byte) []byte {
	h := binary.BigEndian.AppendUint32(nil, length)
	h = binary.BigEndian.AppendUint32(h, stream)
	return append(h, msgType, 0)
}

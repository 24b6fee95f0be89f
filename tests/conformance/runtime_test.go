// Package conformance drives the uid-mapper binary through the real NRI
// library (github.com/containerd/nri pkg/adaptation, the version containerd
// vendors), the way containerd does. run.sh builds nothing: it is given the
// plugin binary in UID_MAPPER_BIN.
//
// Helpers for writing tests (they fail the test through t on setup errors):
//
// Runtime (runtime_test.go): an in-process containerd NRI side.
//
//	rt := NewRuntime(t)                       // temp dirs; stopped at cleanup
//	rt.InstallPlugin("00", "uid-mapper", cfg) // pre-started: copy the binary to PluginDir/00-uid-mapper,
//	                                          // cfg (if any) to ConfDir/00-uid-mapper.conf
//	rt.AddExisting(pods, ctrs)                // state that predates the plugin (Synchronize only)
//	rt.Start(opts...)                         // nri.New + Start; extra nri.Options are kept for
//	                                          // restarts, e.g. nri.WithDefaultValidator(...)
//	rt.Stop(); rt.Restart()                   // a runtime exit: external connections are cut
//	p := StartExternal(t, rt.Socket, args...) // `uid-mapper run --socket ... --idx 10 ARGS`
//	mark := rt.Log.Mark(); rt.WaitSynced(mark, "10-uid-mapper")
//	pod := NewPod("default", "web-0"); rt.RunPod(pod)  // k8s_test.go builders
//	ctr := NewContainer(pod, "app", User(65532, 65532, 1000))
//	adj, err := rt.CreateContainer(pod, ctr)  // the merged ContainerAdjustment, or the error
//	adj = rt.RunContainer(pod, ctr)           // CreateContainer + StartContainer, fatal on error
//	rt.Participants()                         // plugins (IDX-NAME) in the last CreateContainer
//	rt.Claims("00-uid-mapper")                // fields it adjusted there: "Namespace user", "Mounts /sys"
//	rt.UpdateContainer / StopContainer / RemoveContainer / StopPod / RemovePod
//	rt.Teardown(pod, ctrs...)                 // stop and remove all, in CRI order
//	rt.PreStartedPids("00-uid-mapper")        // live pids of the pre-started plugin
//	rt.Log                                    // the NRI library's log lines (a lineLog)
//
// The runtime keeps every pod and container it was told about and hands them
// all to Synchronize, as containerd's CRI does after a (re)connect. External
// plugins reach it through a relay (relay_test.go), so to the adaptation
// their peer pid is the test's own.
//
// PluginProcess (process_test.go): a plugin process the test started, with
// its stderr in p.Stderr (a lineLog: Mark / WaitFor / Since); p.Kill() is a
// crash, p.Signal(sig), p.Wait(timeout) returns the exit code.
//
// BareRuntime (bare_test.go): the runtime end of one plugin connection built
// from NRI's own multiplexer, ttrpc and API stubs but without the adaptation,
// for what the adaptation hides: the event mask a plugin asks for, split
// Synchronize parts, calls the adaptation never makes, raw bytes.
//
//	b, p := LaunchBare(t, "00", "uid-mapper") // pre-started: socket pair on fd 3
//	LaunchBareOnPrivateRun(...)               // the same on an empty /run (built-in defaults)
//	l, sock := ListenBare(t); b := AcceptBare(t, l) // external
//	events := b.Handshake(config)             // RegisterPlugin, Configure, empty Synchronize
//	b.Plugin.CreateContainer(ctx, req)        // any Plugin service call; b.Call for any name
//	b.WriteRaw(bytes); b.WaitClosed(timeout)  // muxHeader, muxFrame, ttrpcHeader build frames
//	b.RawRequest(stream, method, payload); b.RawReply(stream, timeout)
//
// Tests that check transport rather than mapping put their pods in
// testNamespace and configure skipConfig(t) (lifecycle_test.go). Every
// configuration names a temporary state_dir (stateDir(t), mapper_test.go).
package conformance

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	nri "github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/adaptation/builtin"
	"github.com/containerd/nri/pkg/api"
)

const (
	runtimeName    = "containerd"
	runtimeVersion = "v2.3.4"
	// How long a plugin may take to (re)register in these tests: the
	// plugin's reconnect backoff is capped at a few seconds.
	registerTimeout = 15 * time.Second
)

type Runtime struct {
	t         testing.TB
	Dir       string // everything of this runtime lives under Dir
	PluginDir string // pre-started plugins, PluginDir/IDX-NAME
	ConfDir   string // their drop-in configurations, ConfDir/IDX-NAME.conf
	Socket    string // where external plugins connect
	Log       *lineLog

	nriSocket string // the adaptation's own socket, behind the relay
	options   []nri.Option
	adapt     *nri.Adaptation
	relay     *relay

	mu     sync.Mutex // the runtime's state, held like containerd's NRI lock
	pods   []*api.PodSandbox
	ctrs   []*api.Container
	seen   []string            // plugins in the last CreateContainer, from the witness
	claims map[string][]string // fields each plugin claimed in it
}

// NewRuntime prepares a runtime in a fresh directory; Start starts it.
func NewRuntime(t testing.TB) *Runtime {
	t.Helper()
	// Short paths: a unix socket path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "nri-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Runtime{
		t:         t,
		Dir:       dir,
		PluginDir: filepath.Join(dir, "plugins"),
		ConfDir:   filepath.Join(dir, "conf.d"),
		Socket:    filepath.Join(dir, "nri.sock"),
		nriSocket: filepath.Join(dir, "runtime", "nri.sock"),
		Log:       newLineLog(),
	}
	for _, d := range []string{r.PluginDir, r.ConfDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	runtimeLogger.route(r.Log)
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			t.Logf("runtime log:\n%s", r.Log)
		}
		os.RemoveAll(dir)
	})
	return r
}

// InstallPlugin installs the plugin binary for pre-started mode, with its
// drop-in configuration when config is not empty. A copy, not a symlink, so
// that /proc/PID/exe tells this runtime's plugin from any other.
func (r *Runtime) InstallPlugin(idx, name, config string) {
	r.t.Helper()
	full := idx + "-" + name
	if err := copyFile(pluginBinary, filepath.Join(r.PluginDir, full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(r.ConfDir, full+".conf"), []byte(config), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Start creates and starts the adaptation as containerd's NRI service does
// (pre-started plugins are launched, configured and synchronized before
// Start returns) and opens the socket for external plugins.
func (r *Runtime) Start(opts ...nri.Option) {
	r.t.Helper()
	if err := r.start(opts...); err != nil {
		r.t.Fatalf("runtime start: %v", err)
	}
}

func (r *Runtime) start(opts ...nri.Option) error {
	if opts != nil {
		r.options = opts
	}
	options := append([]nri.Option{
		nri.WithPluginPath(r.PluginDir),
		nri.WithPluginConfigPath(r.ConfDir),
		nri.WithSocketPath(r.nriSocket),
		nri.WithBuiltinPlugins(r.witness()),
	}, r.options...)
	adapt, err := nri.New(runtimeName, runtimeVersion, r.synchronize, r.update, options...)
	if err != nil {
		return err
	}
	if err := adapt.Start(); err != nil {
		adapt.Stop()
		return err
	}
	rl, err := startRelay(r.Socket, r.nriSocket)
	if err != nil {
		adapt.Stop()
		return err
	}
	r.adapt, r.relay = adapt, rl
	return nil
}

// Stop is a runtime exit: external plugins lose their connection, the
// pre-started ones are killed (that is what the adaptation does to them).
func (r *Runtime) Stop() {
	if r.relay != nil {
		r.relay.cut()
		r.relay = nil
	}
	if r.adapt != nil {
		r.adapt.Stop()
		r.adapt = nil
	}
}

// Restart stops the runtime and starts a new adaptation with the same state
// and options, as a containerd restart does.
func (r *Runtime) Restart() {
	r.t.Helper()
	r.Stop()
	r.Start()
}

// witness is a builtin validator: the adaptation tells validators which
// plugins took part in a CreateContainer and which adjustment fields each
// one claimed, which nothing else reveals (the merged adjustment always has
// empty hooks and resources, whoever adjusted it).
func (r *Runtime) witness() *builtin.BuiltinPlugin {
	return &builtin.BuiltinPlugin{
		Base:  "witness",
		Index: "99",
		Handlers: builtin.BuiltinHandlers{
			ValidateContainerAdjustment: func(_ context.Context, req *api.ValidateContainerAdjustmentRequest) error {
				// r.mu is held: the adaptation calls validators within
				// CreateContainer, and waits for them.
				r.seen = nil
				for _, p := range req.Plugins {
					if !builtinPlugins[p.Name] {
						r.seen = append(r.seen, p.Index+"-"+p.Name)
					}
				}
				r.claims = claimsOf(req.Owners.GetOwners()[req.Container.Id])
				return nil
			},
		},
	}
}

// builtinPlugins are the runtime's own plugins, which Participants omits.
var builtinPlugins = map[string]bool{"witness": true, "default-validator": true}

// claimsOf lists, for each plugin (IDX-NAME), the adjustment fields it
// claimed: "Mounts /sys", "Namespace user", "Env FOO", "OciHooks", ...
func claimsOf(f *api.FieldOwners) map[string][]string {
	claims := map[string][]string{}
	for field, owner := range f.GetSimple() {
		for _, p := range strings.Split(owner, ",") {
			claims[p] = append(claims[p], api.Field(field).String())
		}
	}
	for field, compound := range f.GetCompound() {
		for key, owner := range compound.GetOwners() {
			claims[owner] = append(claims[owner], api.Field(field).String()+" "+key)
		}
	}
	for _, c := range claims {
		slices.Sort(c)
	}
	return claims
}

// synchronize is the runtime's SyncFn: every pod and container it knows.
func (r *Runtime) synchronize(ctx context.Context, cb nri.SyncCB) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := cb(ctx, r.pods, r.ctrs)
	return err
}

func (r *Runtime) update(context.Context, []*nri.ContainerUpdate) ([]*nri.ContainerUpdate, error) {
	return nil, nil
}

// WaitSynced waits until the external plugin FULLNAME (IDX-NAME) has
// registered and been synchronized after mark.
func (r *Runtime) WaitSynced(mark int, fullName string) {
	r.t.Helper()
	if _, err := r.Log.WaitFor(mark, "plugin \""+fullName+"\" connected and synchronized", registerTimeout); err != nil {
		r.t.Fatalf("plugin %s did not register: %v", fullName, err)
	}
}

// AddExisting records pods and containers as if they had been created
// before the plugin connected; they reach plugins only through Synchronize.
func (r *Runtime) AddExisting(pods []*api.PodSandbox, ctrs []*api.Container) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pods = append(r.pods, pods...)
	r.ctrs = append(r.ctrs, ctrs...)
}

// Claims returns the adjustment fields the plugin FULLNAME (IDX-NAME)
// claimed in the last CreateContainer, e.g. ["Mounts /sys", "Namespace user"];
// none when it adjusted nothing.
func (r *Runtime) Claims(fullName string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.claims[fullName]
}

// Participants returns the plugins (IDX-NAME) that took part in the last
// CreateContainer.
func (r *Runtime) Participants() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func (r *Runtime) RunPod(pod *api.PodSandbox) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.adapt.RunPodSandbox(context.Background(), &nri.RunPodSandboxRequest{Pod: pod}); err != nil {
		return err
	}
	r.pods = append(r.pods, pod)
	return nil
}

// CreateContainer relays CRI CreateContainer and, when it succeeds, the
// PostCreateContainer event; it returns the merged adjustment.
func (r *Runtime) CreateContainer(pod *api.PodSandbox, ctr *api.Container) (*api.ContainerAdjustment, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen, r.claims = nil, nil
	ctx := context.Background()
	ctr.State = api.ContainerState_CONTAINER_UNKNOWN // not in the CRI store yet
	rpl, err := r.adapt.CreateContainer(ctx, &nri.CreateContainerRequest{Pod: pod, Container: ctr})
	if err != nil {
		return nil, err
	}
	ctr.State = api.ContainerState_CONTAINER_CREATED
	ctr.CreatedAt = time.Now().UnixNano()
	r.ctrs = append(r.ctrs, ctr)
	if err := r.adapt.PostCreateContainer(ctx, &nri.PostCreateContainerRequest{Pod: pod, Container: ctr}); err != nil {
		return nil, err
	}
	return rpl.Adjust, nil
}

func (r *Runtime) StartContainer(pod *api.PodSandbox, ctr *api.Container) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx := context.Background()
	if err := r.adapt.StartContainer(ctx, &nri.StartContainerRequest{Pod: pod, Container: ctr}); err != nil {
		return err
	}
	ctr.State = api.ContainerState_CONTAINER_RUNNING
	ctr.StartedAt = time.Now().UnixNano()
	ctr.Pid = uint32(100000 + len(r.ctrs))
	return r.adapt.PostStartContainer(ctx, &nri.PostStartContainerRequest{Pod: pod, Container: ctr})
}

// UpdateContainer relays an in-place resource update (a pod resize) with
// its post-update event.
func (r *Runtime) UpdateContainer(pod *api.PodSandbox, ctr *api.Container) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx := context.Background()
	res := ctr.Linux.Resources
	if _, err := r.adapt.UpdateContainer(ctx, &nri.UpdateContainerRequest{Pod: pod, Container: ctr, LinuxResources: res}); err != nil {
		return err
	}
	return r.adapt.PostUpdateContainer(ctx, &nri.PostUpdateContainerRequest{Pod: pod, Container: ctr})
}

func (r *Runtime) StopContainer(pod *api.PodSandbox, ctr *api.Container) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.adapt.StopContainer(context.Background(), &nri.StopContainerRequest{Pod: pod, Container: ctr}); err != nil {
		return err
	}
	ctr.State = api.ContainerState_CONTAINER_STOPPED
	ctr.FinishedAt = time.Now().UnixNano()
	ctr.ExitCode = 0
	ctr.StatusReason = "Completed"
	return nil
}

func (r *Runtime) RemoveContainer(pod *api.PodSandbox, ctr *api.Container) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.adapt.RemoveContainer(context.Background(), &nri.RemoveContainerRequest{Pod: pod, Container: ctr}); err != nil {
		return err
	}
	r.ctrs = without(r.ctrs, func(c *api.Container) bool { return c.Id == ctr.Id })
	return nil
}

func (r *Runtime) StopPod(pod *api.PodSandbox) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.adapt.StopPodSandbox(context.Background(), &nri.StopPodSandboxRequest{Pod: pod})
}

func (r *Runtime) RemovePod(pod *api.PodSandbox) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.adapt.RemovePodSandbox(context.Background(), &nri.RemovePodSandboxRequest{Pod: pod}); err != nil {
		return err
	}
	r.pods = without(r.pods, func(p *api.PodSandbox) bool { return p.Id == pod.Id })
	return nil
}

// RunContainer goes through the whole CRI life of a container start:
// CreateContainer, then StartContainer. It fails the test on any error.
func (r *Runtime) RunContainer(pod *api.PodSandbox, ctr *api.Container) *api.ContainerAdjustment {
	r.t.Helper()
	adj, err := r.CreateContainer(pod, ctr)
	if err != nil {
		r.t.Fatalf("CreateContainer %s/%s: %v", pod.Name, ctr.Name, err)
	}
	if err := r.StartContainer(pod, ctr); err != nil {
		r.t.Fatalf("StartContainer %s/%s: %v", pod.Name, ctr.Name, err)
	}
	return adj
}

// Teardown stops and removes a pod's containers, then the pod, in CRI order.
func (r *Runtime) Teardown(pod *api.PodSandbox, ctrs ...*api.Container) {
	r.t.Helper()
	for _, c := range ctrs {
		if err := r.StopContainer(pod, c); err != nil {
			r.t.Fatalf("StopContainer %s: %v", c.Name, err)
		}
	}
	if err := r.StopPod(pod); err != nil {
		r.t.Fatalf("StopPodSandbox %s: %v", pod.Name, err)
	}
	for _, c := range ctrs {
		if err := r.RemoveContainer(pod, c); err != nil {
			r.t.Fatalf("RemoveContainer %s: %v", c.Name, err)
		}
	}
	if err := r.RemovePod(pod); err != nil {
		r.t.Fatalf("RemovePodSandbox %s: %v", pod.Name, err)
	}
}

// PreStartedPids returns the live processes running this runtime's copy of
// a pre-started plugin (FULLNAME is IDX-NAME).
func (r *Runtime) PreStartedPids(fullName string) []int {
	want := filepath.Join(r.PluginDir, fullName)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err == nil && exe == want && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

func without[T any](s []T, drop func(T) bool) []T {
	out := s[:0]
	for _, v := range s {
		if !drop(v) {
			out = append(out, v)
		}
	}
	return out
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

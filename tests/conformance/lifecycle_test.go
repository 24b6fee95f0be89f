package conformance

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"google.golang.org/protobuf/proto"
)

// The transport tests put their pods in testNamespace and configure the
// plugin to skip it, so that registration, round trips and restarts are
// checked without depending on the plugin pinning user namespaces on the
// test machine (mapper_test.go checks that). Once configuration is parsed,
// an empty adjustment for such a pod also proves the configuration reached
// the plugin.
const (
	testNamespace = "conformance"
	preStarted    = "00-uid-mapper"
	external      = "10-uid-mapper"
)

// skipConfig is the transport tests' configuration. Its state_dir is a fresh
// temporary directory, so that a configured plugin never creates the default
// /run/uid-mapper on the test machine.
func skipConfig(t *testing.T) string {
	return "# written by the conformance suite\nskip_namespaces: [" + testNamespace + "]\n" +
		"state_dir: " + stateDir(t) + "\n"
}

// configFile writes config to a file for `run --config`.
func configFile(t *testing.T, config string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "uid-mapper.conf")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startExternalSynced starts an external plugin and waits for it to register.
func startExternalSynced(t *testing.T, rt *Runtime, args ...string) *PluginProcess {
	t.Helper()
	mark := rt.Log.Mark()
	p := StartExternal(t, rt.Socket, append([]string{"--config", configFile(t, skipConfig(t))}, args...)...)
	rt.WaitSynced(mark, external)
	return p
}

// roundTrip runs a pod with containers through the whole CRI sequence and
// checks that every CreateContainer reached exactly the plugins in want and
// came back without an adjustment.
func roundTrip(t *testing.T, rt *Runtime, podName string, want ...string) {
	t.Helper()
	mark := rt.Log.Mark()
	pod := NewPod(testNamespace, podName)
	if err := rt.RunPod(pod); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	ctrs := []*api.Container{
		NewContainer(pod, "app", User(65532, 65532, 65532)),
		NewContainer(pod, "sidecar", User(0, 0)),
	}
	for _, c := range ctrs {
		adj := rt.RunContainer(pod, c)
		if got := rt.Participants(); !slices.Equal(got, want) {
			t.Fatalf("CreateContainer %s reached plugins %v, want %v", c.Name, got, want)
		}
		for _, p := range want {
			if claims := rt.Claims(p); len(claims) != 0 {
				t.Fatalf("plugin %s adjusted %v of %s in skipped namespace %s (adjustment %v), want nothing",
					p, claims, c.Name, testNamespace, adj)
			}
		}
		if err := rt.UpdateContainer(pod, c); err != nil {
			t.Fatalf("UpdateContainer %s: %v", c.Name, err)
		}
	}
	rt.Teardown(pod, ctrs...)
	checkPluginsHealthy(t, rt, mark)
}

// checkPluginsHealthy fails the test if, after mark, the runtime dropped a
// plugin (a participant that crashed or timed out mid-request leaves the
// request succeeding without it) or fell back to the deprecated StateChange
// (the plugin answered Unimplemented to an event it subscribed to).
func checkPluginsHealthy(t *testing.T, rt *Runtime, mark int) {
	t.Helper()
	for _, line := range rt.Log.Since(mark) {
		if strings.Contains(line, "closing plugin") || strings.Contains(line, "connection to plugin") ||
			strings.Contains(line, "deprecated StateChange") {
			t.Fatalf("runtime: %s", line)
		}
	}
}

func TestPreStartedRegistersAndServes(t *testing.T) {
	rt := NewRuntime(t)
	rt.InstallPlugin("00", "uid-mapper", skipConfig(t))
	rt.Start()

	pids := rt.PreStartedPids(preStarted)
	if len(pids) != 1 {
		t.Fatalf("want one running %s, found pids %v", preStarted, pids)
	}
	if _, err := rt.Log.WaitFor(0, `pre-installed NRI plugin "`+preStarted+`" synchronization success`, time.Second); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, rt, "web-0", preStarted)
	roundTrip(t, rt, "web-1", preStarted)
	if now := rt.PreStartedPids(preStarted); !slices.Equal(now, pids) {
		t.Fatalf("plugin pids changed from %v to %v while serving", pids, now)
	}
}

func TestExternalRegistersAndServes(t *testing.T) {
	rt := NewRuntime(t)
	rt.Start()
	p := startExternalSynced(t, rt)

	mark := p.Stderr.Mark()
	roundTrip(t, rt, "api-0", external)
	// One log line per handled event, naming the pod and the container.
	var named int
	for _, line := range p.Stderr.Since(mark) {
		if strings.Contains(line, testNamespace) && strings.Contains(line, "api-0") &&
			(strings.Contains(line, "app") || strings.Contains(line, "sidecar")) {
			named++
		}
	}
	if named < 2 {
		t.Fatalf("want a log line naming namespace, pod and container for each CreateContainer, got:\n%s",
			strings.Join(p.Stderr.Since(mark), "\n"))
	}
	if !p.Running() {
		t.Fatal("plugin exited while serving")
	}
}

// A container whose CreateContainer request is close to ttrpc's 4 MiB limit
// (a pod spec with a huge environment from ConfigMaps) still round-trips.
func TestCreateContainerNearSizeLimit(t *testing.T) {
	rt := NewRuntime(t)
	rt.InstallPlugin("00", "uid-mapper", skipConfig(t))
	rt.Start()
	mark := rt.Log.Mark()
	pod := NewPod(testNamespace, "bulky-0")
	if err := rt.RunPod(pod); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	ctr := NewContainer(pod, "app")
	for i := 0; proto.Size(&api.CreateContainerRequest{Pod: pod, Container: ctr}) < 3<<20+512<<10; i++ {
		ctr.Env = append(ctr.Env, fmt.Sprintf("CONFIG_%05d=%s", i, strings.Repeat("v", 200)))
	}
	rt.RunContainer(pod, ctr)
	if got := rt.Participants(); !slices.Equal(got, []string{preStarted}) {
		t.Fatalf("CreateContainer of %d env vars reached plugins %v, want %s", len(ctr.Env), got, preStarted)
	}
	rt.Teardown(pod, ctr)
	checkPluginsHealthy(t, rt, mark)
}

// Both plugins at once: the pre-started one runs first (lower index).
func TestBothModesTogether(t *testing.T) {
	rt := NewRuntime(t)
	rt.InstallPlugin("00", "uid-mapper", skipConfig(t))
	rt.Start()
	startExternalSynced(t, rt)
	roundTrip(t, rt, "db-0", preStarted, external)
}

func TestEventSubscription(t *testing.T) {
	l, socket := ListenBare(t)
	StartExternal(t, socket, "--name", "mapper-a", "--idx", "42")
	b := AcceptBare(t, l)
	reg := b.Registered()
	if reg.PluginName != "mapper-a" || reg.PluginIdx != "42" {
		t.Fatalf("registered as %q/%q, want mapper-a/42 from --name/--idx", reg.PluginName, reg.PluginIdx)
	}
	rpl, err := b.Configure(skipConfig(t))
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	events := api.EventMask(rpl.Events)
	// A zero mask would subscribe the plugin to every event.
	if events == 0 {
		t.Fatal("Configure returned no events: the runtime would send all of them")
	}
	if extra := events &^ api.ValidEvents; extra != 0 {
		t.Fatalf("invalid event bits 0x%x: the runtime refuses the plugin", extra)
	}
	for _, e := range []api.Event{api.Event_CREATE_CONTAINER, api.Event_REMOVE_CONTAINER,
		api.Event_STOP_POD_SANDBOX, api.Event_REMOVE_POD_SANDBOX} {
		if !events.IsSet(e) {
			t.Errorf("not subscribed to %s (mask %s)", e, events.PrettyString())
		}
	}
	// Whatever else it subscribes to it must answer, or the runtime fails
	// that request for every pod: roundTrip drives the events of a pod's
	// life through the adaptation, so an unanswered subscription fails the
	// tests using it.
}

func TestPreStartedIdentityFromEnvironment(t *testing.T) {
	b, p := LaunchBareOnPrivateRun(t, "07", "mapper-b")
	reg := b.Registered()
	if reg.PluginName != "mapper-b" || reg.PluginIdx != "07" {
		t.Fatalf("registered as %q/%q, want mapper-b/07 from NRI_PLUGIN_NAME/NRI_PLUGIN_IDX", reg.PluginName, reg.PluginIdx)
	}
	if _, err := b.Configure(""); err != nil {
		t.Fatalf("Configure with no drop-in: %v", err)
	}
	if _, err := b.Synchronize(nil, nil, false); err != nil {
		t.Fatalf("Synchronize: %v", err)
	}
	if !p.Running() {
		t.Fatal("plugin exited after registering")
	}
}

// A pre-started plugin has no one to reconnect to: when the runtime goes
// away it must exit, cleanly, instead of lingering.
func TestPreStartedExitsWhenRuntimeCloses(t *testing.T) {
	b, p := LaunchBare(t, "00", "uid-mapper")
	b.Handshake(skipConfig(t))
	b.Close()
	code, err := p.Wait(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Fatalf("exit code %d after the runtime closed the connection, want 0", code)
	}
}

func TestSignalsExitZero(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sig       syscall.Signal
		connected bool
	}{
		{"SIGTERM connected", syscall.SIGTERM, true},
		{"SIGINT connected", syscall.SIGINT, true},
		{"SIGTERM while reconnecting", syscall.SIGTERM, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := NewRuntime(t)
			var p *PluginProcess
			if tc.connected {
				rt.Start()
				p = startExternalSynced(t, rt)
			} else {
				p = StartExternal(t, rt.Socket) // nothing listens there
				time.Sleep(500 * time.Millisecond)
			}
			p.Signal(tc.sig)
			code, err := p.Wait(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if code != 0 {
				t.Fatalf("exit code %d on %v, want 0", code, tc.sig)
			}
		})
	}
}

package conformance

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	nri "github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	validator "github.com/containerd/nri/plugins/default-validator/builtin"
)

// waitClosed waits for the runtime to notice that plugin's connection is gone.
func waitClosed(t *testing.T, rt *Runtime, mark int, plugin string) {
	t.Helper()
	if _, err := rt.Log.WaitFor(mark, `connection to plugin "`+plugin+`" closed`, 5*time.Second); err != nil {
		t.Fatalf("the runtime did not notice the crash: %v", err)
	}
}

func killPreStarted(t *testing.T, rt *Runtime) int {
	t.Helper()
	pids := rt.PreStartedPids(preStarted)
	if len(pids) != 1 {
		t.Fatalf("want one running %s, found %v", preStarted, pids)
	}
	mark := rt.Log.Mark()
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, rt, mark, preStarted)
	return pids[0]
}

// runningPod starts a pod with two containers and returns them.
func runningPod(t *testing.T, rt *Runtime, name string) (*api.PodSandbox, []*api.Container) {
	t.Helper()
	pod := NewPod(testNamespace, name)
	if err := rt.RunPod(pod); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	ctrs := []*api.Container{NewContainer(pod, "app", User(65532, 65532)), NewContainer(pod, "log", User(101, 101))}
	for _, c := range ctrs {
		rt.RunContainer(pod, c)
	}
	return pod, ctrs
}

// A crashed pre-started plugin is dropped; containers keep being created
// (without it, unless it is required) and a runtime restart brings it back.
func TestPreStartedPluginCrash(t *testing.T) {
	rt := NewRuntime(t)
	rt.InstallPlugin("00", "uid-mapper", skipConfig(t))
	rt.Start()
	pod, ctrs := runningPod(t, rt, "before-crash")

	old := killPreStarted(t, rt)
	roundTrip(t, rt, "during-crash")

	rt.Restart()
	pids := rt.PreStartedPids(preStarted)
	if len(pids) != 1 || pids[0] == old {
		t.Fatalf("after the restart want one new %s, found %v (the crashed one was %d)", preStarted, pids, old)
	}
	roundTrip(t, rt, "after-restart", preStarted)
	rt.Teardown(pod, ctrs...)
}

// With the plugin listed in the default validator's required_plugins (the
// fail-closed deployment), a crashed plugin stops container creation
// instead of letting containers start without their user namespace.
func TestRequiredPluginFailsClosed(t *testing.T) {
	rt := NewRuntime(t)
	rt.InstallPlugin("00", "uid-mapper", skipConfig(t))
	rt.Start(nri.WithDefaultValidator(&validator.DefaultValidatorConfig{
		Enable:          true,
		RequiredPlugins: []string{"uid-mapper"},
	}))
	roundTrip(t, rt, "required-0", preStarted)

	killPreStarted(t, rt)
	pod := NewPod(testNamespace, "required-1")
	if err := rt.RunPod(pod); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	_, err := rt.CreateContainer(pod, NewContainer(pod, "app"))
	if err == nil || !strings.Contains(err.Error(), "uid-mapper") {
		t.Fatalf("CreateContainer without the required plugin: error %v, want a rejection naming uid-mapper", err)
	}

	rt.Restart()
	roundTrip(t, rt, "required-2", preStarted)
}

// An external plugin that crashes and is started again (by systemd, in a
// real node) registers anew and is synchronized with what happened while it
// was gone.
func TestExternalPluginCrashAndRestart(t *testing.T) {
	rt := NewRuntime(t)
	rt.Start()
	p := startExternalSynced(t, rt)
	pod, ctrs := runningPod(t, rt, "before-crash")

	mark := rt.Log.Mark()
	p.Kill()
	waitClosed(t, rt, mark, external)
	during, duringCtrs := runningPod(t, rt, "during-crash")
	if got := rt.Participants(); len(got) != 0 {
		t.Fatalf("a crashed plugin still took part in CreateContainer: %v", got)
	}

	mark = rt.Log.Mark()
	startExternalSynced(t, rt)
	msgs := syncMessages(t, rt, mark, external)
	if want := "sending sync message, 2/2, 4/4 (more: false)"; !strings.HasSuffix(msgs[len(msgs)-1], want) {
		t.Fatalf("restarted plugin synchronized with %q, want %q", msgs, want)
	}
	roundTrip(t, rt, "after-restart", external)
	rt.Teardown(pod, ctrs...)
	rt.Teardown(during, duringCtrs...)
}

// A runtime restart cuts the external plugin's connection; the plugin
// must reconnect by itself (same process), register and be synchronized
// with the pods and containers that survived the restart.
func TestRuntimeRestartExternalReconnects(t *testing.T) {
	rt := NewRuntime(t)
	rt.Start()
	p := startExternalSynced(t, rt)
	pod, ctrs := runningPod(t, rt, "survivor")

	for i, downtime := range []time.Duration{2 * time.Second, 0} {
		rt.Stop()
		time.Sleep(downtime)
		mark := rt.Log.Mark()
		start := time.Now()
		rt.Start()
		rt.WaitSynced(mark, external)
		t.Logf("restart %d (down %v): plugin back %v after the runtime", i+1, downtime, time.Since(start))
		if !p.Running() {
			t.Fatal("the plugin exited instead of reconnecting")
		}
		msgs := syncMessages(t, rt, mark, external)
		if want := "sending sync message, 1/1, 2/2 (more: false)"; !strings.HasSuffix(msgs[len(msgs)-1], want) {
			t.Fatalf("after the restart the plugin was synchronized with %q, want %q", msgs, want)
		}
		roundTrip(t, rt, "after-restart", external)
	}
	rt.Teardown(pod, ctrs...)
}

// A runtime that stays away long (an upgrade, a crash loop) must not push the
// plugin's reconnect delay past its cap: with the backoff capped at 5 s the
// plugin is back within about 5 s of the runtime. Doubling from 100 ms
// without a cap tries at 12.7 s and next at 25.5 s, so after a 13 s outage
// it would be back only 12.5 s later.
func TestReconnectBackoffIsCapped(t *testing.T) {
	const (
		downtime = 13 * time.Second
		limit    = 6 * time.Second // the 5 s cap plus registration
	)
	rt := NewRuntime(t)
	rt.Start()
	p := startExternalSynced(t, rt)
	rt.Stop()
	time.Sleep(downtime)
	mark := rt.Log.Mark()
	start := time.Now()
	rt.Start()
	rt.WaitSynced(mark, external)
	back := time.Since(start)
	t.Logf("after %v down, the plugin was back %v after the runtime", downtime, back)
	if back > limit {
		t.Fatalf("plugin took %v to come back, more than the capped backoff allows (%v)", back, limit)
	}
	if !p.Running() {
		t.Fatal("the plugin exited instead of reconnecting")
	}
}

// A runtime restart kills the pre-started plugin and launches a new one.
func TestRuntimeRestartPreStarted(t *testing.T) {
	rt := NewRuntime(t)
	rt.InstallPlugin("00", "uid-mapper", skipConfig(t))
	rt.Start()
	pod, ctrs := runningPod(t, rt, "survivor")
	before := rt.PreStartedPids(preStarted)

	mark := rt.Log.Mark()
	rt.Restart()
	after := rt.PreStartedPids(preStarted)
	if len(after) != 1 || slices.Contains(before, after[0]) {
		t.Fatalf("plugin pids %v before the restart, %v after; want one new process", before, after)
	}
	msgs := syncMessages(t, rt, mark, preStarted)
	if want := "sending sync message, 1/1, 2/2 (more: false)"; !strings.HasSuffix(msgs[len(msgs)-1], want) {
		t.Fatalf("after the restart the plugin was synchronized with %q, want %q", msgs, want)
	}
	roundTrip(t, rt, "after-restart", preStarted)
	rt.Teardown(pod, ctrs...)
}

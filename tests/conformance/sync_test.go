package conformance

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
	"google.golang.org/protobuf/proto"
)

// existingState returns pods with perPod containers each in every CRI
// state a Synchronize can report, as if they had run before the plugin
// connected.
func existingState(pods, perPod int) ([]*api.PodSandbox, []*api.Container) {
	states := []api.ContainerState{api.ContainerState_CONTAINER_RUNNING,
		api.ContainerState_CONTAINER_CREATED, api.ContainerState_CONTAINER_STOPPED,
		api.ContainerState_CONTAINER_PAUSED}
	var ps []*api.PodSandbox
	var cs []*api.Container
	for i := 0; i < pods; i++ {
		pod := NewPod(testNamespace, fmt.Sprintf("existing-%d", i))
		ps = append(ps, pod)
		for j := 0; j < perPod; j++ {
			c := NewContainer(pod, fmt.Sprintf("c%d", j), User(uint32(1000+j), 1000, 5, 10))
			c.State = states[(i+j)%len(states)]
			c.CreatedAt = time.Now().Add(-time.Hour).UnixNano()
			if c.State != api.ContainerState_CONTAINER_CREATED {
				c.StartedAt = c.CreatedAt + int64(time.Second)
				c.Pid = uint32(30000 + i*perPod + j)
			}
			cs = append(cs, c)
		}
	}
	return ps, cs
}

// syncMessages returns the runtime's log lines about the Synchronize
// messages it sent to plugin (IDX-NAME) in its first synchronization after
// mark: "sending sync message, PODS/LEFT, CTRS/LEFT (more: BOOL)", and
// "oversized message, retrying in smaller chunks" where ttrpc refused one.
func syncMessages(t *testing.T, rt *Runtime, mark int, plugin string) []string {
	t.Helper()
	from, err := rt.Log.WaitFor(mark, "synchronizing plugin "+plugin, registerTimeout)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, line := range rt.Log.Since(from) {
		switch {
		case strings.Contains(line, "sending sync message"), strings.Contains(line, "oversized message"):
			msgs = append(msgs, line)
		case strings.Contains(line, "synchronization success"), strings.Contains(line, "connected and synchronized"):
			return msgs
		case strings.Contains(line, "synchronizing plugin "), strings.Contains(line, "failed to synchronize"):
			t.Fatalf("synchronization of %s did not succeed: %s", plugin, line)
		}
	}
	t.Fatalf("no complete synchronization of %s in the runtime log", plugin)
	return nil
}

// splitParts counts the messages of a synchronization that said more=true.
func splitParts(msgs []string) int {
	n := 0
	for _, m := range msgs {
		if strings.HasSuffix(m, "(more: true)") {
			n++
		}
	}
	return n
}

func TestSynchronizeExistingState(t *testing.T) {
	for _, mode := range []string{"pre-started", "external"} {
		t.Run(mode, func(t *testing.T) {
			rt := NewRuntime(t)
			pods, ctrs := existingState(3, 4)
			rt.AddExisting(pods, ctrs)
			plugin := preStarted
			if mode == "pre-started" {
				rt.InstallPlugin("00", "uid-mapper", skipConfig(t))
				rt.Start()
			} else {
				rt.Start()
				startExternalSynced(t, rt)
				plugin = external
			}
			want := fmt.Sprintf("sending sync message, %d/%d, %d/%d (more: false)",
				len(pods), len(pods), len(ctrs), len(ctrs))
			if msgs := syncMessages(t, rt, 0, plugin); len(msgs) != 1 || !strings.HasSuffix(msgs[0], want) {
				t.Fatalf("synchronization %q, want one message with everything: %q", msgs, want)
			}
			// Events about objects the plugin knows only from Synchronize.
			rt.Teardown(pods[0], ctrs[:4]...)
			roundTrip(t, rt, "new-0", plugin)
		})
	}
}

// bigState returns existing pods and containers whose Synchronize message
// is larger than ttrpc's 4 MiB limit, so the adaptation must split it.
func bigState(t *testing.T) ([]*api.PodSandbox, []*api.Container) {
	const limit = 4 << 20
	var pods []*api.PodSandbox
	var ctrs []*api.Container
	for proto.Size(&api.SynchronizeRequest{Pods: pods, Containers: ctrs}) <= limit+limit/4 {
		p, c := existingState(10, 8)
		pods, ctrs = append(pods, p...), append(ctrs, c...)
	}
	t.Logf("existing state: %d pods, %d containers, %d bytes in one Synchronize",
		len(pods), len(ctrs), proto.Size(&api.SynchronizeRequest{Pods: pods, Containers: ctrs}))
	return pods, ctrs
}

func TestSynchronizeSplit(t *testing.T) {
	rt := NewRuntime(t)
	pods, ctrs := bigState(t)
	rt.AddExisting(pods, ctrs)
	rt.InstallPlugin("00", "uid-mapper", skipConfig(t))

	start := time.Now()
	rt.Start()
	t.Logf("pre-started plugin synchronized in %v", time.Since(start))
	if _, err := rt.Log.WaitFor(0, `pre-installed NRI plugin "`+preStarted+`" synchronization success`, time.Second); err != nil {
		t.Fatal(err)
	}
	if msgs := syncMessages(t, rt, 0, preStarted); splitParts(msgs) == 0 {
		t.Fatalf("the runtime did not split Synchronize (%q); the test state is too small", msgs)
	}

	mark := rt.Log.Mark()
	start = time.Now()
	startExternalSynced(t, rt)
	msgs := syncMessages(t, rt, mark, external)
	t.Logf("external plugin registered and synchronized in %v, %d parts with more=true",
		time.Since(start), splitParts(msgs))
	if splitParts(msgs) == 0 {
		t.Fatalf("the runtime did not split the external plugin's Synchronize: %q", msgs)
	}

	roundTrip(t, rt, "after-split-0", preStarted, external)
	rt.Teardown(pods[len(pods)-1], ctrs[len(ctrs)-8:]...)
}

// The split protocol itself, part by part: each part but the last must be
// acknowledged with more=true and no updates, or the adaptation drops the
// plugin ("plugin does not handle split sync requests").
func TestSynchronizeSplitByHand(t *testing.T) {
	b, p := LaunchBare(t, "00", "uid-mapper")
	b.Registered()
	if _, err := b.Configure(skipConfig(t)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	pods, ctrs := existingState(6, 3)
	parts := []struct {
		pods []*api.PodSandbox
		ctrs []*api.Container
	}{
		{pods[:4], nil},
		{pods[4:], ctrs[:10]},
		{nil, ctrs[10:15]},
		{nil, ctrs[15:]},
	}
	for i, part := range parts {
		more := i < len(parts)-1
		rpl, err := b.Synchronize(part.pods, part.ctrs, more)
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if rpl.More != more || len(rpl.Update) != 0 {
			t.Fatalf("part %d (more=%v) answered more=%v with %d updates; want more=%v and none",
				i, more, rpl.More, len(rpl.Update), more)
		}
	}
	// Still serving, and the pods from the parts are known to it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctr := NewContainer(pods[5], "late")
	rpl, err := b.Plugin.CreateContainer(ctx, &api.CreateContainerRequest{Pod: pods[5], Container: ctr})
	if err != nil {
		t.Fatalf("CreateContainer after a split Synchronize: %v", err)
	}
	if rpl.Adjust != nil && (len(rpl.Adjust.Mounts) != 0 || rpl.Adjust.Linux != nil) {
		t.Fatalf("adjustment %v for a container in skipped namespace %s", rpl.Adjust, testNamespace)
	}
	if _, err := b.Plugin.RemoveContainer(ctx, &api.RemoveContainerRequest{Pod: pods[0], Container: ctrs[0]}); err != nil {
		t.Fatalf("RemoveContainer of a synchronized container: %v", err)
	}
	if !p.Running() {
		t.Fatal("plugin exited")
	}
}

package conformance

// Issue 4 through the real NRI library: pinned user namespaces, the
// adjustment, sharing, release, restart recovery, concurrency, skip rules,
// configuration errors and `uid-mapper status`. The pods get real network
// and IPC namespaces (a parked child process), because the plugin mounts
// each pod's sysfs and mqueue from inside them. Needs root.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/api"
)

const nsfsMagic = 0x6e736673

// mapperConfig is a configuration for a plugin pinning namespaces under
// stateDir with the design notes' 2048-ID pool.
func mapperConfig(stateDir string, extra ...string) string {
	return fmt.Sprintf("state_dir: %s\npool: \"0-2047\"\n%s", stateDir, strings.Join(extra, ""))
}

// stateDir is a fresh state_dir. At cleanup (before the directory is
// removed) anything a failing test left mounted under it is detached, so a
// failure never leaks mounts; a passing test leaves nothing to detach.
func stateDir(t testing.TB) string {
	dir := t.TempDir()
	t.Cleanup(func() {
		info, _ := os.ReadFile("/proc/self/mountinfo")
		lines := strings.Split(string(info), "\n")
		for i := len(lines) - 1; i >= 0; i-- { // innermost first
			f := strings.Fields(lines[i])
			if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
				syscall.Unmount(f[4], syscall.MNT_DETACH)
			}
		}
	})
	return dir
}

// podNamespaces parks a child in new network, IPC and PID namespaces,
// standing in for a pod's pause process; it is killed at cleanup.
func podNamespaces(t testing.TB) int {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "infinity")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot create pod namespaces (needs root): %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

// mappedPod runs a pod in namespace ns whose network and IPC namespaces are
// real (shared by every pod of one test).
func mappedPod(t testing.TB, rt *Runtime, pausePid int, ns, name string) *api.PodSandbox {
	t.Helper()
	pod := NewPod(ns, name)
	pod.Pid = uint32(pausePid)
	for _, n := range pod.Linux.Namespaces {
		if n.Type == "network" {
			n.Path = fmt.Sprintf("/proc/%d/ns/net", pausePid)
		}
	}
	if err := rt.RunPod(pod); err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	return pod
}

// userNamespace is the user namespace path an adjustment adds ("" if none).
func userNamespace(adj *api.ContainerAdjustment) string {
	if adj == nil || adj.Linux == nil {
		return ""
	}
	for _, n := range adj.Linux.Namespaces {
		if n.Type == "user" {
			return n.Path
		}
	}
	return ""
}

// joined records what containerd's spec would carry after the adjustment:
// the container's namespaces now include the pinned user namespace, which
// is what Synchronize reports after a restart.
func joined(ctr *api.Container, adj *api.ContainerAdjustment) {
	ctr.Linux.Namespaces = append(ctr.Linux.Namespaces, &api.LinuxNamespace{Type: "user", Path: userNamespace(adj)})
}

// preStartedMapper starts a runtime whose pre-started plugin pins
// namespaces under state (mapperConfig(state, extra...)).
func preStartedMapper(t testing.TB, state string, extra ...string) *Runtime {
	t.Helper()
	rt := NewRuntime(t)
	rt.InstallPlugin("00", "uid-mapper", mapperConfig(state, extra...))
	rt.Start()
	return rt
}

// externalMapper starts an external plugin on mapperConfig(state, extra...)
// and waits for it to synchronize with rt.
func externalMapper(t *testing.T, rt *Runtime, state string, extra ...string) *PluginProcess {
	t.Helper()
	mark := rt.Log.Mark()
	p := StartExternal(t, rt.Socket, "--config", configFile(t, mapperConfig(state, extra...)))
	rt.WaitSynced(mark, external)
	return p
}

// wantPinned fails the test unless exactly n namespaces are pinned under
// state; when says at which point of the test.
func wantPinned(t *testing.T, state string, n int, when string) {
	t.Helper()
	if got := pinned(t, state); len(got) != n {
		t.Fatalf("%s: pinned %v, want %d", when, got, n)
	}
}

func pinned(t *testing.T, stateDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(stateDir, "userns"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.Contains(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

type extent struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

type planOutput struct {
	UIDMappings []extent `json:"uidMappings"`
	GIDMappings []extent `json:"gidMappings"`
}

// plan is what `uid-mapper plan` prints for a user on the same pool.
func plan(t *testing.T, uid, gid uint32, groups ...string) planOutput {
	t.Helper()
	args := []string{"plan", "--pool", "0-2047", "--user", fmt.Sprintf("%d:%d", uid, gid), "--json"}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	out, err := exec.Command(pluginBinary, args...).Output()
	if err != nil {
		t.Fatalf("uid-mapper plan: %v", err)
	}
	var p planOutput
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("uid-mapper plan output %q: %v", out, err)
	}
	return p
}

// mapInside reads a map as a process inside the pinned namespace sees it.
func mapInside(t *testing.T, path, file string) []extent {
	t.Helper()
	out, err := exec.Command("nsenter", "--user="+path, "cat", "/proc/self/"+file).Output()
	if err != nil {
		t.Fatalf("nsenter --user=%s cat /proc/self/%s: %v", path, file, err)
	}
	var m []extent
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e extent
		if _, err := fmt.Sscan(line, &e.ContainerID, &e.HostID, &e.Size); err != nil {
			t.Fatalf("%s line %q: %v", file, line, err)
		}
		m = append(m, e)
	}
	return m
}

func checkPinned(t *testing.T, path string, want planOutput) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil || st.Type != nsfsMagic {
		t.Fatalf("%s is not an nsfs file (statfs type %#x, err %v)", path, st.Type, err)
	}
	if got := mapInside(t, path, "uid_map"); !slices.Equal(got, want.UIDMappings) {
		t.Fatalf("uid_map inside %s = %v, uid-mapper plan says %v", path, got, want.UIDMappings)
	}
	if got := mapInside(t, path, "gid_map"); !slices.Equal(got, want.GIDMappings) {
		t.Fatalf("gid_map inside %s = %v, uid-mapper plan says %v", path, got, want.GIDMappings)
	}
}

func mountAt(adj *api.ContainerAdjustment, dest string) *api.Mount {
	for _, m := range adj.Mounts {
		if m.Destination == dest {
			return m
		}
	}
	return nil
}

// The adjustment: the pinned user namespace, the pod's own sysfs
// (read-only) and mqueue; the maps inside equal uid-mapper plan's.
func TestMapperAdjustment(t *testing.T) {
	state := stateDir(t)
	rt := preStartedMapper(t, state)
	pause := podNamespaces(t)
	pod := mappedPod(t, rt, pause, "default", "web-0")
	ctr := NewContainer(pod, "app", User(65532, 65532, 5, 1000))
	adj := rt.RunContainer(pod, ctr)

	path := userNamespace(adj)
	if filepath.Dir(path) != filepath.Join(state, "userns") {
		t.Fatalf("adjustment joins user namespace %q, want one under %s/userns (adjustment %v)", path, state, adj)
	}
	checkPinned(t, path, plan(t, 65532, 65532, "5", "1000"))

	sys, mq := mountAt(adj, "/sys"), mountAt(adj, "/dev/mqueue")
	if sys == nil || mq == nil {
		t.Fatalf("adjustment mounts %v, want /sys and /dev/mqueue replaced", adj.Mounts)
	}
	podDir := filepath.Join(state, "pods", pod.Id)
	if sys.Source != filepath.Join(podDir, "sys") || sys.Type != "bind" ||
		!slices.Contains(sys.Options, "ro") || !slices.Contains(sys.Options, "rbind") {
		t.Fatalf("/sys mount %v, want a read-only rbind of %s/sys", sys, podDir)
	}
	if mq.Source != filepath.Join(podDir, "mqueue") || mq.Type != "bind" {
		t.Fatalf("/dev/mqueue mount %v, want a bind of %s/mqueue", mq, podDir)
	}
	// The pod's sysfs shows the pod's network devices (a new netns: lo only).
	devs, err := os.ReadDir(filepath.Join(sys.Source, "class", "net"))
	if err != nil || len(devs) != 1 || devs[0].Name() != "lo" {
		t.Fatalf("pod sysfs class/net = %v (%v), want only lo", devs, err)
	}
	claims := rt.Claims(preStarted)
	for _, want := range []string{"Namespace user", "Mounts /sys", "Mounts /dev/mqueue"} {
		if !slices.ContainsFunc(claims, func(c string) bool { return strings.HasPrefix(c, want) }) {
			t.Fatalf("runtime records claims %v, want %q", claims, want)
		}
	}
	rt.Teardown(pod, ctr)
	wantPinned(t, state, 0, "after teardown")
}

// Same mapping, same namespace, across pods; another user, another one;
// released when the last container goes; pod mounts released with the pod.
func TestMapperReuseAndRelease(t *testing.T) {
	state := stateDir(t)
	rt := preStartedMapper(t, state)
	pause := podNamespaces(t)
	podA := mappedPod(t, rt, pause, "default", "a-0")
	podB := mappedPod(t, rt, pause, "default", "b-0")
	a := NewContainer(podA, "app", User(65532, 65532))
	b := NewContainer(podB, "app", User(65532, 65532))
	c := NewContainer(podB, "sidecar", User(1000, 1000))
	pa, pb, pc := userNamespace(rt.RunContainer(podA, a)), userNamespace(rt.RunContainer(podB, b)),
		userNamespace(rt.RunContainer(podB, c))
	if pa == "" || pa != pb || pc == "" || pc == pa {
		t.Fatalf("namespaces a=%q b=%q c=%q: want a == b (same user) and c different", pa, pb, pc)
	}
	wantPinned(t, state, 2, "two users in three containers")

	rt.Teardown(podA, a)
	if _, err := os.Stat(pa); err != nil {
		t.Fatalf("namespace still used by %s was released: %v", b.Name, err)
	}
	if _, err := os.Stat(filepath.Join(state, "pods", podA.Id)); !os.IsNotExist(err) {
		t.Fatalf("pod %s's mounts not released with it: %v", podA.Name, err)
	}
	rt.Teardown(podB, b, c)
	wantPinned(t, state, 0, "after every container was removed")
	if entries, _ := os.ReadDir(filepath.Join(state, "pods")); len(entries) != 0 {
		t.Fatalf("pod mounts left: %v", entries)
	}
}

// A plugin killed while containers run, and a containerd restart: counts
// are rebuilt from Synchronize; namespaces of containers removed meanwhile
// are released, the others kept.
func TestMapperRestartRecovery(t *testing.T) {
	state := stateDir(t)
	rt := NewRuntime(t)
	rt.Start()
	p := externalMapper(t, rt, state)
	pause := podNamespaces(t)
	pod := mappedPod(t, rt, pause, "default", "survivor-0")
	keep := NewContainer(pod, "app", User(65532, 65532))
	gone := NewContainer(pod, "job", User(1000, 1000))
	adjKeep, adjGone := rt.RunContainer(pod, keep), rt.RunContainer(pod, gone)
	joined(keep, adjKeep)
	joined(gone, adjGone)

	mark := rt.Log.Mark()
	p.Kill()
	waitClosed(t, rt, mark, external)
	// Removed while the plugin was down: it never hears of it.
	if err := rt.StopContainer(pod, gone); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemoveContainer(pod, gone); err != nil {
		t.Fatal(err)
	}
	wantPinned(t, state, 2, "while the plugin is down")

	externalMapper(t, rt, state)
	if got := pinned(t, state); len(got) != 1 || filepath.Join(state, "userns", got[0]) != userNamespace(adjKeep) {
		t.Fatalf("after the plugin restart pinned %v, want only %s", got, userNamespace(adjKeep))
	}

	mark = rt.Log.Mark()
	rt.Restart()
	rt.WaitSynced(mark, external)
	checkPinned(t, userNamespace(adjKeep), plan(t, 65532, 65532))
	// New containers are still mapped, onto the surviving namespace.
	again := NewContainer(pod, "app2", User(65532, 65532))
	if got := userNamespace(rt.RunContainer(pod, again)); got != userNamespace(adjKeep) {
		t.Fatalf("new container joined %q, want the surviving %q", got, userNamespace(adjKeep))
	}
	rt.Teardown(pod, keep, again)
	wantPinned(t, state, 0, "after teardown")
}

// 200 CreateContainer calls at once for 20 distinct users: exactly 20
// namespaces, each with the right map, none left after removal.
func TestMapperConcurrentCreates(t *testing.T) {
	state := stateDir(t)
	rt := preStartedMapper(t, state)
	pause := podNamespaces(t)
	pod := mappedPod(t, rt, pause, "default", "many-0")
	ctrs := make([]*api.Container, 200)
	paths := make([]string, 200)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range ctrs {
		uid := uint32(60000 + i%20)
		ctrs[i] = NewContainer(pod, fmt.Sprintf("c%d", i), User(uid, uid))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			adj, err := rt.CreateContainer(pod, ctrs[i])
			if err != nil {
				errs <- fmt.Errorf("container %d: %w", i, err)
				return
			}
			paths[i] = userNamespace(adj)
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantPinned(t, state, 20, "200 creates for 20 users")
	for i := 0; i < 20; i++ {
		for j := i + 20; j < 200; j += 20 {
			if paths[j] != paths[i] {
				t.Fatalf("containers %d and %d (same user) got %q and %q", i, j, paths[i], paths[j])
			}
		}
	}
	checkPinned(t, paths[7], plan(t, 60007, 60007))
	rt.Teardown(pod, ctrs...)
	wantPinned(t, state, 0, "after removing all")
}

// Containers that must stay in the node's user namespace get no
// adjustment at all.
func TestMapperSkips(t *testing.T) {
	state := stateDir(t)
	rt := NewRuntime(t)
	rt.Start()
	p := externalMapper(t, rt, state, "skip_namespaces: [kube-system]\n")
	pause := podNamespaces(t)
	cases := []struct {
		name, ns  string
		opts      []ContainerOption
		podAnno   map[string]string
		logReason string
	}{
		{"host-network", "default", []ContainerOption{HostNamespace("network")}, nil, "hostNetwork"},
		{"host-network-by-path", "default", []ContainerOption{func(c *api.Container, _ *api.PodSandbox) {
			for _, n := range c.Linux.Namespaces {
				if n.Type == "network" {
					// containerd 2.3 gives a hostNetwork container the
					// sandbox's netns path, which is the node's.
					n.Path = fmt.Sprintf("/proc/%d/ns/net", os.Getpid())
				}
			}
		}}, nil, "hostNetwork"},
		{"host-pid", "default", []ContainerOption{HostNamespace("pid")}, nil, "hostPID"},
		{"host-ipc", "default", []ContainerOption{HostNamespace("ipc")}, nil, "hostIPC"},
		{"shared-pid", "default", []ContainerOption{SharedPID()}, nil, "shareProcessNamespace"},
		{"host-users-false", "default", []ContainerOption{func(c *api.Container, _ *api.PodSandbox) {
			c.Linux.Namespaces = append(c.Linux.Namespaces, &api.LinuxNamespace{Type: "user"})
		}}, nil, "hostUsers: false"},
		{"opt-out", "default", nil, map[string]string{"uid-mapper.nri.io/disable": "true"}, "uid-mapper.nri.io/disable"},
		{"opt-out-one", "default", nil, map[string]string{"uid-mapper.nri.io/disable.container.app": "true"}, "disable.container.app"},
		{"system", "kube-system", nil, nil, "skip_namespaces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := NewPod(tc.ns, tc.name)
			pod.Pid = uint32(pause)
			for k, v := range tc.podAnno {
				pod.Annotations[k] = v
			}
			if err := rt.RunPod(pod); err != nil {
				t.Fatal(err)
			}
			logMark := p.Stderr.Mark()
			ctr := NewContainer(pod, "app", append([]ContainerOption{User(65532, 65532)}, tc.opts...)...)
			adj := rt.RunContainer(pod, ctr)
			if claims := rt.Claims(external); len(claims) != 0 {
				t.Fatalf("skipped container adjusted: %v (%v)", claims, adj)
			}
			if _, err := p.Stderr.WaitFor(logMark, tc.logReason, 2*time.Second); err != nil {
				t.Fatalf("no log line giving the reason %q: %v\n%s", tc.logReason, err,
					strings.Join(p.Stderr.Since(logMark), "\n"))
			}
			rt.Teardown(pod, ctr)
		})
	}
	wantPinned(t, state, 0, "skipped containers")
}

// containerd 2.2 sends no Container.user: the pool and extras are mapped,
// with one warning.
func TestMapperWithoutContainerUser(t *testing.T) {
	state := stateDir(t)
	rt := NewRuntime(t)
	rt.Start()
	p := externalMapper(t, rt, state, "extra_uids: [65534]\n")
	pause := podNamespaces(t)
	pod := mappedPod(t, rt, pause, "default", "old-0")
	logMark := p.Stderr.Mark()
	a, b := NewContainer(pod, "a", NoUser()), NewContainer(pod, "b", NoUser())
	pa, pb := userNamespace(rt.RunContainer(pod, a)), userNamespace(rt.RunContainer(pod, b))
	if pa == "" || pa != pb {
		t.Fatalf("containers without a user got namespaces %q and %q, want one shared", pa, pb)
	}
	uidMap := mapInside(t, pa, "uid_map")
	if !slices.ContainsFunc(uidMap, func(e extent) bool { return e.ContainerID == 65534 }) {
		t.Fatalf("uid_map %v lacks the configured extra uid 65534", uidMap)
	}
	var warnings int
	for _, line := range p.Stderr.Since(logMark) {
		if strings.Contains(line, "Container.user") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("want exactly one warning about the missing Container.user, got %d:\n%s", warnings,
			strings.Join(p.Stderr.Since(logMark), "\n"))
	}
	rt.Teardown(pod, a, b)
}

// on_error: fail refuses the container with a message saying what to fix;
// skip lets it run without a namespace.
func TestMapperOnError(t *testing.T) {
	for _, mode := range []string{"fail", "skip"} {
		t.Run(mode, func(t *testing.T) {
			state := stateDir(t)
			rt := preStartedMapper(t, state, "on_error: "+mode+"\n")
			pause := podNamespaces(t)
			pod := mappedPod(t, rt, pause, "default", "broken-0")
			ctr := NewContainer(pod, "app", User(65532, 65532))
			for _, n := range ctr.Linux.Namespaces {
				if n.Type == "ipc" {
					n.Path = "/proc/0/ns/ipc" // the pod's IPC namespace is gone
				}
			}
			adj, err := rt.CreateContainer(pod, ctr)
			switch mode {
			case "fail":
				if err == nil || !strings.Contains(err.Error(), "on_error: skip") ||
					!strings.Contains(err.Error(), "IPC namespace") {
					t.Fatalf("CreateContainer: error %v, adjustment %v; want a failure explaining the fix", err, adj)
				}
			case "skip":
				if err != nil || len(rt.Claims(preStarted)) != 0 {
					t.Fatalf("CreateContainer: error %v, claims %v; want an unadjusted container", err, rt.Claims(preStarted))
				}
			}
			wantPinned(t, state, 0, "after a failed placement")
			rt.Teardown(pod)
			if entries, _ := os.ReadDir(filepath.Join(state, "pods")); len(entries) != 0 {
				t.Fatalf("pod mounts left after the pod was removed: %v", entries)
			}
		})
	}
}

// Every bad configuration: the external plugin refuses to run on it and
// says which key is wrong; a pre-started one never serves.
func TestMapperBadConfigurations(t *testing.T) {
	bad := map[string]string{
		"unknown key":         "pools: \"0-2047\"\n",
		"bad pool":            "pool: \"2047-0\"\n",
		"pool wrong type":     "pool: [0, 2047]\n",
		"extra_uids string":   "extra_uids: \"0,65534\"\n",
		"extra_uids range":    "extra_uids: [4294967295]\n",
		"extra_gids negative": "extra_gids: [-1]\n",
		"relative state_dir":  "state_dir: run/uid-mapper\n",
		"skip_namespaces":     "skip_namespaces: kube-system\n",
		"on_error":            "on_error: ignore\n",
		"log_level":           "log_level: loud\n",
		"not a mapping":       "- pool\n",
		"invalid YAML":        "pool: \"0-2047\n",
		"duplicate key":       "on_error: fail\non_error: skip\n",
	}
	keyOf := func(name string) string { return strings.Fields(name)[len(strings.Fields(name))-1] }
	rt := NewRuntime(t)
	rt.Start()
	for name, config := range bad {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			p := StartExternal(t, rt.Socket, "--config", configFile(t, config))
			code, err := p.Wait(10 * time.Second)
			if err != nil || code == 0 {
				t.Fatalf("plugin on a bad configuration: exit %d, %v; want a non-zero exit", code, err)
			}
			log := p.Stderr.String()
			if !strings.Contains(log, "config: ") {
				t.Fatalf("plugin log does not explain the configuration error:\n%s", log)
			}
			if k := keyOf(name); strings.Contains(config, k+":") && !strings.Contains(log, k) {
				t.Fatalf("configuration error does not name %q:\n%s", k, log)
			}
		})
	}

	pre := NewRuntime(t)
	pre.InstallPlugin("00", "uid-mapper", bad["on_error"])
	pre.Start()
	pod := NewPod("default", "web-0")
	if err := pre.RunPod(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := pre.CreateContainer(pod, NewContainer(pod, "app")); err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if got := pre.Participants(); slices.Contains(got, preStarted) {
		t.Fatalf("a plugin with a bad configuration served CreateContainer (participants %v)", got)
	}
}

type statusOutput struct {
	Namespaces []struct {
		Name        string   `json:"name"`
		Path        string   `json:"path"`
		UIDMappings []extent `json:"uidMappings"`
		GIDMappings []extent `json:"gidMappings"`
		Containers  []struct {
			ID        string `json:"id"`
			Pod       string `json:"pod"`
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"containers"`
	} `json:"namespaces"`
}

// uid-mapper status --json lists the pinned namespaces, their maps and
// the containers using each.
func TestMapperStatus(t *testing.T) {
	state := stateDir(t)
	rt := preStartedMapper(t, state)
	pause := podNamespaces(t)
	pod := mappedPod(t, rt, pause, "shop", "cart-0")
	a, b := NewContainer(pod, "app", User(65532, 65532)), NewContainer(pod, "proxy", User(65532, 65532))
	path := userNamespace(rt.RunContainer(pod, a))
	rt.RunContainer(pod, b)

	out, err := exec.Command(pluginBinary, "status", "--state-dir", state, "--json").Output()
	if err != nil {
		t.Fatalf("uid-mapper status: %v", err)
	}
	var st statusOutput
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("status output %q: %v", out, err)
	}
	if len(st.Namespaces) != 1 {
		t.Fatalf("status lists %d namespaces, want 1:\n%s", len(st.Namespaces), out)
	}
	ns := st.Namespaces[0]
	want := plan(t, 65532, 65532)
	if ns.Path != path || !slices.Equal(ns.UIDMappings, want.UIDMappings) || !slices.Equal(ns.GIDMappings, want.GIDMappings) {
		t.Fatalf("status namespace %+v, want path %s and maps %v", ns, path, want)
	}
	var names []string
	for _, c := range ns.Containers {
		if c.Pod != "cart-0" || c.Namespace != "shop" {
			t.Fatalf("status container %+v, want pod shop/cart-0", c)
		}
		names = append(names, c.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"app", "proxy"}) {
		t.Fatalf("status containers %v, want app and proxy", names)
	}
	text, err := exec.Command(pluginBinary, "status", "--state-dir", state).Output()
	if err != nil || !strings.Contains(string(text), "65532->2044 x1") || !strings.Contains(string(text), "shop/cart-0") {
		t.Fatalf("status text output (%v):\n%s", err, text)
	}
	rt.Teardown(pod, a, b)
	out, _ = exec.Command(pluginBinary, "status", "--state-dir", state, "--json").Output()
	if strings.TrimSpace(string(out)) != `{"namespaces":[]}` {
		t.Fatalf("status after teardown: %s", out)
	}
}

// A plugin that died mid-creation leaves a namespace file without its map
// record (empty, or already bind-mounted); the next start removes both.
func TestMapperRecoversHalfMade(t *testing.T) {
	state := stateDir(t)
	dir := filepath.Join(state, "userns")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	empty, mounted := filepath.Join(dir, "0123456789abcdef"), filepath.Join(dir, "fedcba9876543210")
	holder := exec.Command("/bin/sleep", "infinity")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER, Pdeathsig: syscall.SIGKILL}
	if err := holder.Start(); err != nil {
		t.Skipf("cannot create a user namespace: %v", err)
	}
	defer holder.Wait()
	defer holder.Process.Kill()
	for _, f := range []string{empty, mounted} {
		if err := os.WriteFile(f, nil, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mount(fmt.Sprintf("/proc/%d/ns/user", holder.Process.Pid), mounted, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind-mounting a user namespace: %v", err)
	}

	preStartedMapper(t, state)
	wantPinned(t, state, 0, "half-made namespaces after the plugin's start")
	if info, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(info), mounted) {
		t.Fatalf("%s is still mounted", mounted)
	}
}

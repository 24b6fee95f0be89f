package conformance

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/containerd/nri/pkg/api"
	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// Pods and containers as containerd's CRI hands them to NRI: the OCI spec
// the CRI plugin generated for a kubelet request, converted with NRI's own
// FromOCI helpers (as containerd's nri_api_linux.go does).

var objectSeq atomic.Uint64

// objectID returns a 64-hex-digit id like containerd's, unique in the run.
func objectID(kind string) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", kind, objectSeq.Add(1))))
	return hex.EncodeToString(sum[:])
}

func uuidFrom(id string) string {
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:32]
}

// NewPod returns a running pod sandbox of the burstable QoS class with its
// own pid, ipc, uts and network namespaces.
func NewPod(namespace, name string) *api.PodSandbox {
	id := objectID("pod")
	uid := uuidFrom(objectID("uid"))
	slice := "kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
	pausePid := uint32(2000 + objectSeq.Load()%60000)
	app := strings.TrimRight(name, "-0123456789")
	lastApplied := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{},`+
		`"labels":{"app":%q},"name":%q,"namespace":%q},"spec":{"containers":[{"image":`+
		`"registry.k8s.io/e2e-test-images/agnhost:2.53","name":"app","securityContext":`+
		`{"runAsUser":65532,"runAsGroup":65532}}]}}`, app, name, namespace)
	return &api.PodSandbox{
		Id:        id,
		Name:      name,
		Uid:       uid,
		Namespace: namespace,
		Labels: map[string]string{
			"app":                          app,
			"pod-template-hash":            id[:10],
			"io.kubernetes.pod.name":       name,
			"io.kubernetes.pod.namespace":  namespace,
			"io.kubernetes.pod.uid":        uid,
			"app.kubernetes.io/managed-by": "kubectl",
		},
		Annotations: map[string]string{
			"kubernetes.io/config.seen":                        time.Now().UTC().Format(time.RFC3339Nano),
			"kubernetes.io/config.source":                      "api",
			"kubectl.kubernetes.io/last-applied-configuration": lastApplied,
			"io.kubernetes.cri.container-type":                 "sandbox",
			"io.kubernetes.cri.sandbox-id":                     id,
			"io.kubernetes.cri.sandbox-name":                   name,
			"io.kubernetes.cri.sandbox-namespace":              namespace,
			"io.kubernetes.cri.sandbox-uid":                    uid,
			"io.kubernetes.cri.sandbox-log-directory":          "/var/log/pods/" + namespace + "_" + name + "_" + uid,
			"io.kubernetes.cri.sandbox-cpu-period":             "100000",
			"io.kubernetes.cri.sandbox-cpu-quota":              "0",
			"io.kubernetes.cri.sandbox-cpu-shares":             "2",
			"io.kubernetes.cri.sandbox-memory":                 "0",
		},
		RuntimeHandler: "",
		Pid:            pausePid,
		Ips:            []string{fmt.Sprintf("10.244.%d.%d", pausePid/250%250, pausePid%250+2)},
		Linux: &api.LinuxPodSandbox{
			Namespaces: api.FromOCILinuxNamespaces([]rspec.LinuxNamespace{
				{Type: rspec.PIDNamespace},
				{Type: rspec.IPCNamespace},
				{Type: rspec.UTSNamespace},
				{Type: rspec.MountNamespace},
				{Type: rspec.NetworkNamespace, Path: "/var/run/netns/cni-" + uuidFrom(objectID("netns"))},
			}),
			CgroupParent: slice,
			CgroupsPath:  slice + ":cri-containerd:" + id,
			Resources:    api.FromOCILinuxResources(&rspec.LinuxResources{CPU: &rspec.LinuxCPU{Shares: ptr(uint64(2))}}, nil),
		},
	}
}

// ContainerOption adjusts a container NewContainer builds.
type ContainerOption func(c *api.Container, pod *api.PodSandbox)

// User sets the process user as kubelet's runAsUser/runAsGroup/
// supplementalGroups resolve it.
func User(uid, gid uint32, additional ...uint32) ContainerOption {
	return func(c *api.Container, _ *api.PodSandbox) {
		c.User = &api.User{Uid: uid, Gid: gid, AdditionalGids: additional}
	}
}

// NoUser leaves Container.user unset, as containerd before 2.3 does.
func NoUser() ContainerOption {
	return func(c *api.Container, _ *api.PodSandbox) { c.User = nil }
}

// HostNamespace removes a namespace entry (hostNetwork, hostPID, hostIPC).
func HostNamespace(kind string) ContainerOption {
	return func(c *api.Container, _ *api.PodSandbox) {
		c.Linux.Namespaces = without(c.Linux.Namespaces, func(n *api.LinuxNamespace) bool { return n.Type == kind })
	}
}

// SharedPID joins the pod's pid namespace (shareProcessNamespace: true).
func SharedPID() ContainerOption {
	return func(c *api.Container, pod *api.PodSandbox) {
		for _, n := range c.Linux.Namespaces {
			if n.Type == string(rspec.PIDNamespace) {
				n.Path = fmt.Sprintf("/proc/%d/ns/pid", pod.Pid)
			}
		}
	}
}

// NewContainer returns a container of pod as the CRI plugin builds it for
// a typical Deployment: about seventy environment variables (service links),
// the standard CRI mounts plus a service-account token and a ConfigMap,
// CPU and memory limits, the runtime-default seccomp profile, and uid/gid
// 1000 unless an option says otherwise.
func NewContainer(pod *api.PodSandbox, name string, opts ...ContainerOption) *api.Container {
	id := objectID("ctr")
	podDir := "/var/lib/kubelet/pods/" + pod.Uid
	sandboxDir := "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/" + pod.Id
	image := "registry.k8s.io/e2e-test-images/agnhost:2.53"
	shares, quota, period := uint64(512), int64(50000), uint64(100000)
	memory := int64(256 << 20)
	c := &api.Container{
		Id:           id,
		PodSandboxId: pod.Id,
		Name:         name,
		Labels: map[string]string{
			"io.kubernetes.container.name": name,
			"io.kubernetes.pod.name":       pod.Name,
			"io.kubernetes.pod.namespace":  pod.Namespace,
			"io.kubernetes.pod.uid":        pod.Uid,
		},
		Annotations: map[string]string{
			"io.kubernetes.cri.container-name":    name,
			"io.kubernetes.cri.container-type":    "container",
			"io.kubernetes.cri.image-name":        image,
			"io.kubernetes.cri.sandbox-id":        pod.Id,
			"io.kubernetes.cri.sandbox-name":      pod.Name,
			"io.kubernetes.cri.sandbox-namespace": pod.Namespace,
			"io.kubernetes.cri.sandbox-uid":       pod.Uid,
		},
		Args: []string{"/agnhost", "netexec", "--http-port=8080", "--udp-port=8081",
			"--delay-shutdown=5"},
		Env: serviceEnv(pod.Name),
		Mounts: api.FromOCIMounts([]rspec.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "/etc/app", Type: "bind", Source: podDir + "/volumes/kubernetes.io~configmap/config", Options: []string{"rbind", "rprivate", "ro"}},
			{Destination: "/etc/hosts", Type: "bind", Source: podDir + "/etc-hosts", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/dev/termination-log", Type: "bind", Source: podDir + "/containers/" + name + "/" + id[:8], Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/etc/hostname", Type: "bind", Source: sandboxDir + "/hostname", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/etc/resolv.conf", Type: "bind", Source: sandboxDir + "/resolv.conf", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/dev/shm", Type: "bind", Source: "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/" + pod.Id + "/shm", Options: []string{"rbind", "rprivate", "rw"}},
			{Destination: "/var/run/secrets/kubernetes.io/serviceaccount", Type: "bind", Source: podDir + "/volumes/kubernetes.io~projected/kube-api-access-" + id[8:13], Options: []string{"rbind", "rprivate", "ro"}},
		}),
		User: &api.User{Uid: 1000, Gid: 1000},
		Linux: &api.LinuxContainer{
			Namespaces: api.FromOCILinuxNamespaces([]rspec.LinuxNamespace{
				{Type: rspec.PIDNamespace},
				{Type: rspec.IPCNamespace, Path: fmt.Sprintf("/proc/%d/ns/ipc", pod.Pid)},
				{Type: rspec.UTSNamespace, Path: fmt.Sprintf("/proc/%d/ns/uts", pod.Pid)},
				{Type: rspec.MountNamespace},
				{Type: rspec.NetworkNamespace, Path: podNetns(pod)},
				{Type: rspec.CgroupNamespace},
			}),
			Resources: api.FromOCILinuxResources(&rspec.LinuxResources{
				CPU:    &rspec.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period},
				Memory: &rspec.LinuxMemory{Limit: &memory, Swap: &memory},
				Pids:   &rspec.LinuxPids{Limit: ptr(int64(4096))},
				HugepageLimits: []rspec.LinuxHugepageLimit{
					{Pagesize: "2MB", Limit: 0}, {Pagesize: "1GB", Limit: 0},
				},
				Unified: map[string]string{"memory.oom.group": "1", "memory.swap.max": "0"},
			}, nil),
			OomScoreAdj:    api.Int(ptr(969)),
			CgroupsPath:    pod.Linux.CgroupParent + ":cri-containerd:" + id,
			SeccompProfile: &api.SecurityProfile{ProfileType: api.SecurityProfile_RUNTIME_DEFAULT},
		},
	}
	for _, o := range opts {
		o(c, pod)
	}
	return c
}

func podNetns(pod *api.PodSandbox) string {
	for _, n := range pod.Linux.Namespaces {
		if n.Type == string(rspec.NetworkNamespace) {
			return n.Path
		}
	}
	return ""
}

// serviceEnv is what kubelet puts in a container's environment: the image's
// PATH, HOSTNAME, a few variables of the pod spec and, for every service in
// the namespace, the seven docker-link variables.
func serviceEnv(hostname string) []string {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=" + hostname,
		"LOG_LEVEL=info",
		"GOMAXPROCS=1",
		"GOMEMLIMIT=214748364",
		"POD_IP_FAMILY=IPv4",
		"TZ=UTC",
		"KUBERNETES_SERVICE_PORT_HTTPS=443",
	}
	services := []struct {
		name string
		port int
	}{
		{"KUBERNETES", 443}, {"WEB", 80}, {"WEB_CANARY", 80}, {"REDIS_MASTER", 6379},
		{"REDIS_REPLICA", 6379}, {"POSTGRES", 5432}, {"METRICS_SERVER", 443},
		{"KUBE_DNS", 53}, {"PROMETHEUS", 9090},
	}
	for i, s := range services {
		addr := fmt.Sprintf("10.96.%d.%d", i, 10+i*7)
		p := fmt.Sprint(s.port)
		url := "tcp://" + addr + ":" + p
		prefix := s.name + "_PORT_" + p + "_TCP"
		env = append(env,
			s.name+"_SERVICE_HOST="+addr,
			s.name+"_SERVICE_PORT="+p,
			s.name+"_PORT="+url,
			prefix+"="+url,
			prefix+"_PROTO=tcp",
			prefix+"_PORT="+p,
			prefix+"_ADDR="+addr,
		)
	}
	return env
}

func ptr[T any](v T) *T { return &v }

package conformance

import (
	"fmt"
	"testing"
)

// BenchmarkCreateContainer measures what the plugin adds to a container
// start: one CreateContainer + RemoveContainer round trip through the real
// NRI adaptation to the pre-started plugin. "mapped" joins a namespace that a
// long-lived container of the same user keeps pinned (the common case: plan,
// reuse, pod mounts already there, record written and removed); "skipped" is
// an opted-out pod (transport and skip rules only). `make bench` runs it;
// it prints numbers and never fails on timing.
func BenchmarkCreateContainer(b *testing.B) {
	for _, mode := range []string{"mapped", "skipped"} {
		b.Run(mode, func(b *testing.B) {
			rt := preStartedMapper(b, stateDir(b))
			pod := mappedPod(b, rt, podNamespaces(b), "default", "bench-"+mode)
			if mode == "skipped" {
				pod.Annotations["uid-mapper.nri.io/disable"] = "true"
			}
			keeper := NewContainer(pod, "keeper", User(65532, 65532))
			if _, err := rt.CreateContainer(pod, keeper); err != nil {
				b.Fatalf("CreateContainer: %v", err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ctr := NewContainer(pod, fmt.Sprintf("app-%d", i), User(65532, 65532))
				adj, err := rt.CreateContainer(pod, ctr)
				if err != nil {
					b.Fatalf("CreateContainer: %v", err)
				}
				if mapped := userNamespace(adj) != ""; mapped != (mode == "mapped") {
					b.Fatalf("%s container: user namespace in adjustment = %v", mode, mapped)
				}
				if err := rt.RemoveContainer(pod, ctr); err != nil {
					b.Fatalf("RemoveContainer: %v", err)
				}
			}
			b.StopTimer()
			rt.Teardown(pod, keeper)
		})
	}
}

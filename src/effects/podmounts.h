/* Per-pod sysfs and mqueue mounts for containers in child user namespaces.
 *
 * A container joins its pod's network and IPC namespaces, which belong to
 * the node's user namespace, so from the container's own user namespace
 * runc cannot mount sysfs or mqueue (EPERM). The plugin mounts them for the
 * pod instead, from inside the pod's namespaces, and the adjustment binds
 * them in:
 *   STATE/pods/<pod-id>/sys      sysfs mounted in the pod's network
 *                                namespace (shows the pod's devices), read-only
 *   STATE/pods/<pod-id>/mqueue   mqueue of the pod's IPC namespace
 * They are released with the pod. A sysfs mount holds a reference to its
 * network namespace, so a forgotten one would keep the pod's netns alive. */
#pragma once
#include <stddef.h>

/* Mounts (once per pod) the pod's sysfs, seen from the network namespace at
 * netns_path; path receives the mount point. Returns 0 or -1 with err. */
int podmounts_ensure_sysfs(const char *state_dir, const char *pod_id,
                           const char *netns_path, char *path, size_t pathlen,
                           char *err, size_t errlen);

/* Likewise the mqueue file system of the IPC namespace at ipcns_path. */
int podmounts_ensure_mqueue(const char *state_dir, const char *pod_id,
                            const char *ipcns_path, char *path, size_t pathlen,
                            char *err, size_t errlen);

/* Unmounts and removes STATE/pods/<pod-id> (nothing there is fine). */
int podmounts_release(const char *state_dir, const char *pod_id, char *err,
                      size_t errlen);

/* Calls fn for every pod that has a directory under STATE/pods; stops at and
 * returns fn's first non-zero result. A missing directory is empty. */
int podmounts_foreach(const char *state_dir, int (*fn)(const char *pod_id, void *arg),
                      void *arg);

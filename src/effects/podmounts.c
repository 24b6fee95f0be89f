#include "effects/podmounts.h"

#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "effects/fsutil.h"
#include "effects/nsrun.h"

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202 /* ipc/mqueue.c; <linux/magic.h> lacks it */
#endif

struct pod_fs {
    const char *subdir;
    const char *fstype;
    unsigned long flags;
    long magic;
    int nstype;
    const char *ns_kind;
};

static const struct pod_fs pod_sysfs = {
    "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
    SYSFS_MAGIC, CLONE_NEWNET, "network",
};
static const struct pod_fs pod_mqueue = {
    "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
    MQUEUE_MAGIC, CLONE_NEWIPC, "IPC",
};
static const struct pod_fs *const pod_fss[] = {&pod_sysfs, &pod_mqueue};

struct mount_request {
    const struct pod_fs *fs;
    const char *target;
};

/* Runs in a child that has joined the pod's namespace: sysfs and mqueue
 * take their view from the mounting process's namespace. */
static int mount_step(void *arg, char *err, size_t errlen)
{
    const struct mount_request *r = arg;
    if (mount(r->fs->fstype, r->target, r->fs->fstype, r->fs->flags, NULL) == 0)
        return 0;
    snprintf(err, errlen, "mount %s on %s: %s", r->fs->fstype, r->target, strerror(errno));
    return -1;
}

static bool is_mounted(const char *path, long magic)
{
    struct statfs sfs;
    return statfs(path, &sfs) == 0 && sfs.f_type == magic;
}

static int ensure(const struct pod_fs *fs, const char *state_dir, const char *pod_id,
                  const char *ns_path, char *path, size_t pathlen, char *err,
                  size_t errlen)
{
    if (!fs_safe_name(pod_id)) {
        snprintf(err, errlen, "pod ID \"%s\" cannot name a directory", pod_id);
        return -1;
    }
    if (fs_path(path, pathlen, "%s/pods/%s/%s", state_dir, pod_id, fs->subdir) < 0 ||
        fs_mkdir_p(path, 0700) < 0) {
        snprintf(err, errlen, "creating %s/pods/%s/%s: %s; check that state_dir is "
                              "writable", state_dir, pod_id, fs->subdir, strerror(errno));
        return -1;
    }
    if (is_mounted(path, fs->magic))
        return 0;
    struct mount_request req = {fs, path};
    char why[512];
    if (ns_run_in(ns_path, fs->nstype, mount_step, &req, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "mounting the pod's %s from its %s namespace: %s",
                 fs->fstype, fs->ns_kind, why);
        return -1;
    }
    return 0;
}

int podmounts_ensure_sysfs(const char *state_dir, const char *pod_id,
                           const char *netns_path, char *path, size_t pathlen,
                           char *err, size_t errlen)
{
    return ensure(&pod_sysfs, state_dir, pod_id, netns_path, path, pathlen, err, errlen);
}

int podmounts_ensure_mqueue(const char *state_dir, const char *pod_id,
                            const char *ipcns_path, char *path, size_t pathlen,
                            char *err, size_t errlen)
{
    return ensure(&pod_mqueue, state_dir, pod_id, ipcns_path, path, pathlen, err, errlen);
}

int podmounts_release(const char *state_dir, const char *pod_id, char *err, size_t errlen)
{
    if (!fs_safe_name(pod_id)) {
        snprintf(err, errlen, "pod ID \"%s\" cannot name a directory", pod_id);
        return -1;
    }
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof(pod_fss) / sizeof(pod_fss[0]); i++) {
        if (fs_path(path, sizeof(path), "%s/pods/%s/%s", state_dir, pod_id,
                    pod_fss[i]->subdir) < 0)
            goto fail;
        fs_unmount_all(path);
        if (rmdir(path) < 0 && errno != ENOENT)
            goto fail;
    }
    if (fs_path(path, sizeof(path), "%s/pods/%s", state_dir, pod_id) < 0 ||
        (rmdir(path) < 0 && errno != ENOENT))
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "removing %s: %s", path, strerror(errno));
    return -1;
}

int podmounts_foreach(const char *state_dir, int (*fn)(const char *pod_id, void *arg),
                      void *arg)
{
    return fs_foreach_entry(state_dir, "pods", fn, arg);
}

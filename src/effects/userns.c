#include "effects/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "effects/fsutil.h"

#define UID_HEADER "uid_map:\n"
#define GID_HEADER "gid_map:\n"
#define MAX_CLASH_PROBES 16

/* ---- names and the .map record ---- */

int userns_maps_format(const struct id_mapping *uid, const struct id_mapping *gid,
                       char *buf, size_t len)
{
    size_t used = 0;
    const struct id_mapping *maps[2] = {uid, gid};
    const char *headers[2] = {UID_HEADER, GID_HEADER};
    for (int i = 0; i < 2; i++) {
        size_t hlen = strlen(headers[i]);
        if (len - used <= hlen)
            return -1;
        memcpy(buf + used, headers[i], hlen + 1);
        used += hlen;
        int n = idmap_format(maps[i], buf + used, len - used);
        if (n < 0)
            return -1;
        used += (size_t)n;
    }
    return (int)used;
}

int userns_maps_parse(const char *text, struct id_mapping *uid, struct id_mapping *gid,
                      char *err, size_t errlen)
{
    const char *gid_part = strstr(text, GID_HEADER);
    if (strncmp(text, UID_HEADER, strlen(UID_HEADER)) != 0 || !gid_part) {
        snprintf(err, errlen, "not a uid-mapper map record (expected \"uid_map:\" and "
                              "\"gid_map:\" sections)");
        return -1;
    }
    size_t uid_len = (size_t)(gid_part - text) - strlen(UID_HEADER);
    char *uid_text = strndup(text + strlen(UID_HEADER), uid_len);
    if (!uid_text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char why[256];
    int rc = 0;
    if (idmap_parse(uid_text, uid, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "uid_map: %s", why);
        rc = -1;
    } else if (idmap_parse(gid_part + strlen(GID_HEADER), gid, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "gid_map: %s", why);
        rc = -1;
    }
    free(uid_text);
    return rc;
}

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void candidate_name(uint64_t hash, int probe, char name[USERNS_NAME_MAX])
{
    if (probe == 0)
        snprintf(name, USERNS_NAME_MAX, "%016llx", (unsigned long long)hash);
    else
        snprintf(name, USERNS_NAME_MAX, "%016llx-%d", (unsigned long long)hash, probe);
}

bool userns_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len < 16 || strspn(name, "0123456789abcdef") != 16)
        return false;
    if (len == 16)
        return true;
    if (name[16] != '-' || len > 19 || strspn(name + 17, "0123456789") != len - 17)
        return false;
    int probe = atoi(name + 17);
    return probe > 0 && probe < MAX_CLASH_PROBES && name[17] != '0';
}

int userns_path(const char *state_dir, const char *name, char *buf, size_t len)
{
    return fs_path(buf, len, "%s/userns/%s", state_dir, name);
}

static int map_record_path(const char *state_dir, const char *name, char *buf, size_t len)
{
    return fs_path(buf, len, "%s/userns/%s.map", state_dir, name);
}

/* ---- inspecting and removing entries ---- */

/* Is path a mounted nsfs file of a user namespace (not just an empty file
 * left behind by a crash or a reboot)? */
static bool is_pinned_userns(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct statfs sfs;
    bool ok = fstatfs(fd, &sfs) == 0 && sfs.f_type == NSFS_MAGIC &&
              ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWUSER;
    close(fd);
    return ok;
}

/* Removes an entry in the order that keeps the invariant: record first, so
 * an interruption leaves a half-made namespace that recovery removes. */
static int remove_entry(const char *state_dir, const char *name)
{
    char path[PATH_MAX], record[PATH_MAX];
    if (userns_path(state_dir, name, path, sizeof(path)) < 0 ||
        map_record_path(state_dir, name, record, sizeof(record)) < 0)
        return -1;
    if (unlink(record) < 0 && errno != ENOENT)
        return -1;
    fs_unmount_all(path);
    if (unlink(path) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

enum entry_state { ENTRY_ABSENT, ENTRY_COMPLETE, ENTRY_BROKEN };

/* What is at name: nothing, a complete pinned namespace (its record text
 * then in *recorded, malloc'd, when recorded is not NULL) or the remains of
 * an interrupted creation or release, or of a reboot. */
static enum entry_state inspect(const char *state_dir, const char *name, char **recorded)
{
    char path[PATH_MAX], record[PATH_MAX];
    if (userns_path(state_dir, name, path, sizeof(path)) < 0 ||
        map_record_path(state_dir, name, record, sizeof(record)) < 0)
        return ENTRY_BROKEN;
    char *text = fs_read_text(record, USERNS_MAPS_TEXT_MAX);
    if (!text && errno == ENOENT && access(path, F_OK) < 0 && errno == ENOENT)
        return ENTRY_ABSENT;
    if (!text || !is_pinned_userns(path)) {
        free(text);
        return ENTRY_BROKEN;
    }
    if (recorded)
        *recorded = text;
    else
        free(text);
    return ENTRY_COMPLETE;
}

static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

/* ---- creating ---- */

static int fail_errno(char *err, size_t errlen, const char *what, const char *hint)
{
    int e = errno;
    snprintf(err, errlen, "%s: %s%s%s", what, strerror(e), hint ? "; " : "", hint ? hint : "");
    errno = e;
    return -1;
}

static int write_map(pid_t pid, const char *file, const struct id_mapping *m,
                     char *err, size_t errlen)
{
    char path[64], text[USERNS_MAPS_TEXT_MAX];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int len = idmap_format(m, text, sizeof(text));
    if (len < 0) {
        snprintf(err, errlen, "%s: map text too long", file);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return fail_errno(err, errlen, path, NULL);
    /* The kernel takes a map in one write of less than a page. */
    ssize_t n = write(fd, text, (size_t)len);
    int saved = errno;
    close(fd);
    if (n == len)
        return 0;
    errno = n < 0 ? saved : EIO;
    char what[128];
    snprintf(what, sizeof(what), "writing %d bytes to %s", len, path);
    return fail_errno(err, errlen, what,
                      len >= getpagesize()
                          ? "the kernel accepts less than one page of map text; "
                            "narrow the pool or the extra IDs to need fewer extents"
                          : "check that every host ID is in this process's own map");
}

/* A child that enters a new user namespace and lives until *hold_fd is
 * closed, so the parent can write its maps and pin it. Returns its pid, or
 * -1 with err. */
static pid_t spawn_holder(int *hold_fd, char *err, size_t errlen)
{
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return fail_errno(err, errlen, "pipe", NULL);
    if (pipe2(hold, O_CLOEXEC) < 0) {
        fail_errno(err, errlen, "pipe", NULL);
        close(ready[0]);
        close(ready[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int e = unshare(CLONE_NEWUSER) < 0 ? errno : 0;
        if (write(ready[1], &e, sizeof(e)) != (ssize_t)sizeof(e) || e)
            _exit(1);
        char c;
        while (read(hold[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    int fork_errno = errno;
    close(ready[1]);
    close(hold[0]);
    if (pid < 0) {
        close(ready[0]);
        close(hold[1]);
        errno = fork_errno;
        return fail_errno(err, errlen, "fork", NULL);
    }

    int child_errno = 0;
    ssize_t n;
    while ((n = read(ready[0], &child_errno, sizeof(child_errno))) < 0 && errno == EINTR)
        ;
    close(ready[0]);
    if (n != (ssize_t)sizeof(child_errno) || child_errno) {
        close(hold[1]);
        reap(pid);
        errno = n == (ssize_t)sizeof(child_errno) ? child_errno : ECHILD;
        return fail_errno(err, errlen, "unshare(CLONE_NEWUSER)",
                          "check user.max_user_namespaces and that the plugin runs as root");
    }
    *hold_fd = hold[1];
    return pid;
}

static int create(const char *state_dir, const char *name, const struct id_mapping *uid,
                  const struct id_mapping *gid, const char *maps_text, char *err,
                  size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX], record[PATH_MAX];
    if (fs_path(dir, sizeof(dir), "%s/userns", state_dir) < 0 ||
        userns_path(state_dir, name, path, sizeof(path)) < 0 ||
        map_record_path(state_dir, name, record, sizeof(record)) < 0)
        return fail_errno(err, errlen, state_dir, "use a shorter state_dir");
    if (fs_mkdir_p(dir, 0700) < 0)
        return fail_errno(err, errlen, dir, "check that state_dir is writable");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
    if (fd < 0)
        return fail_errno(err, errlen, path, NULL);
    close(fd);

    int hold_fd = -1;
    pid_t pid = spawn_holder(&hold_fd, err, errlen);
    int rc = pid < 0 ? -1 : 0;
    if (rc == 0)
        rc = write_map(pid, "uid_map", uid, err, errlen);
    if (rc == 0)
        rc = write_map(pid, "gid_map", gid, err, errlen);
    if (rc == 0) {
        char ns[64];
        snprintf(ns, sizeof(ns), "/proc/%d/ns/user", (int)pid);
        if (mount(ns, path, NULL, MS_BIND, NULL) < 0)
            rc = fail_errno(err, errlen, "bind-mounting the user namespace",
                            "the plugin needs CAP_SYS_ADMIN in its mount namespace");
    }
    if (pid > 0) {
        close(hold_fd);
        reap(pid);
    }
    if (rc == 0 && fs_write_atomic(record, maps_text, strlen(maps_text)) < 0)
        rc = fail_errno(err, errlen, record, "check that state_dir is writable");
    if (rc < 0)
        remove_entry(state_dir, name);
    return rc;
}

int userns_ensure(const char *state_dir, const struct id_mapping *uid,
                  const struct id_mapping *gid, char name[USERNS_NAME_MAX],
                  bool *created, char *err, size_t errlen)
{
    char maps_text[USERNS_MAPS_TEXT_MAX];
    if (userns_maps_format(uid, gid, maps_text, sizeof(maps_text)) < 0) {
        snprintf(err, errlen, "map text does not fit");
        return -1;
    }
    uint64_t hash = fnv1a64(maps_text);

    /* Look at every candidate before creating, so a released namespace
     * earlier in the probe order cannot make a second copy of a later one. */
    int free_probe = -1;
    for (int probe = 0; probe < MAX_CLASH_PROBES; probe++) {
        char cand[USERNS_NAME_MAX], *recorded = NULL;
        candidate_name(hash, probe, cand);
        switch (inspect(state_dir, cand, &recorded)) {
        case ENTRY_COMPLETE:
            if (strcmp(recorded, maps_text) == 0) {
                free(recorded);
                snprintf(name, USERNS_NAME_MAX, "%s", cand);
                *created = false;
                return 0;
            }
            free(recorded); /* a hash clash: other maps live here */
            break;
        case ENTRY_BROKEN:
            if (remove_entry(state_dir, cand) < 0)
                return fail_errno(err, errlen, "removing a half-made namespace", NULL);
            /* fall through */
        case ENTRY_ABSENT:
            if (free_probe < 0)
                free_probe = probe;
            break;
        }
    }
    if (free_probe < 0) {
        snprintf(err, errlen, "%d pinned namespaces share the hash %016llx; "
                              "remove stale entries from %s/userns",
                 MAX_CLASH_PROBES, (unsigned long long)hash, state_dir);
        return -1;
    }
    candidate_name(hash, free_probe, name);
    if (create(state_dir, name, uid, gid, maps_text, err, errlen) < 0)
        return -1;
    *created = true;
    return 0;
}

/* ---- releasing, reading, recovering ---- */

int userns_release(const char *state_dir, const char *name, char *err, size_t errlen)
{
    if (!userns_name_valid(name)) {
        snprintf(err, errlen, "\"%s\" is not a pinned namespace name", name);
        return -1;
    }
    if (remove_entry(state_dir, name) < 0)
        return fail_errno(err, errlen, name, "check the state directory");
    return 0;
}

int userns_read_maps(const char *state_dir, const char *name, struct id_mapping *uid,
                     struct id_mapping *gid, char *err, size_t errlen)
{
    char record[PATH_MAX];
    if (map_record_path(state_dir, name, record, sizeof(record)) < 0)
        return fail_errno(err, errlen, name, NULL);
    char *text = fs_read_text(record, USERNS_MAPS_TEXT_MAX);
    if (!text)
        return fail_errno(err, errlen, record, NULL);
    char why[300];
    int rc = userns_maps_parse(text, uid, gid, why, sizeof(why));
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", record, why);
    free(text);
    return rc;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t len = strlen(s), slen = strlen(suffix);
    return len >= slen && strcmp(s + len - slen, suffix) == 0;
}

/* The namespace name an entry of STATE/userns belongs to, or false for
 * something that is not ours. */
static bool entry_owner(const char *entry, char name[USERNS_NAME_MAX])
{
    size_t len = strcspn(entry, ".");
    if (len >= USERNS_NAME_MAX)
        return false;
    memcpy(name, entry, len);
    name[len] = '\0';
    const char *rest = entry + len;
    return userns_name_valid(name) &&
           (*rest == '\0' || strcmp(rest, ".map") == 0 || strcmp(rest, ".map.tmp") == 0);
}

struct recovery {
    const char *state_dir;
    int removed;
};

/* Removes entry if it is a stray .map.tmp or part of a half-made namespace;
 * never stops the walk, so one bad entry cannot shield the others. */
static int recover_entry(const char *entry, void *arg)
{
    struct recovery *r = arg;
    char name[USERNS_NAME_MAX], tmp[PATH_MAX];
    if (!entry_owner(entry, name))
        return 0;
    if (has_suffix(entry, ".map.tmp")) {
        if (fs_path(tmp, sizeof(tmp), "%s/userns/%s", r->state_dir, entry) == 0 &&
            unlink(tmp) == 0)
            r->removed++;
        return 0;
    }
    if (inspect(r->state_dir, name, NULL) == ENTRY_BROKEN &&
        remove_entry(r->state_dir, name) == 0)
        r->removed++;
    return 0;
}

int userns_recover(const char *state_dir)
{
    struct recovery r = {state_dir, 0};
    if (fs_foreach_entry(state_dir, "userns", recover_entry, &r) < 0)
        return -1;
    return r.removed;
}

struct visit {
    const char *state_dir;
    int (*fn)(const char *name, void *arg);
    void *arg;
};

static int visit_complete(const char *entry, void *arg)
{
    const struct visit *v = arg;
    char name[USERNS_NAME_MAX];
    if (entry_owner(entry, name) && strcmp(name, entry) == 0 &&
        inspect(v->state_dir, name, NULL) == ENTRY_COMPLETE)
        return v->fn(name, v->arg);
    return 0;
}

int userns_foreach(const char *state_dir, int (*fn)(const char *name, void *arg), void *arg)
{
    struct visit v = {state_dir, fn, arg};
    return fs_foreach_entry(state_dir, "userns", visit_complete, &v);
}

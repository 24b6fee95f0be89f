/* Per-pod sysfs and mqueue mounts, made from inside a throwaway network and
 * IPC namespace (root). */
#include <dirent.h>
#include <mqueue.h>
#include <sys/statvfs.h>

#include "effects/podmounts.h"
#include "ns_fixture.h"
#include "unit.h"

static char state[64];
static char err[1024];

static int mounts_at(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096], needle[300];
    snprintf(needle, sizeof(needle), " %s ", path);
    int n = 0;
    while (f && fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

static bool dir_has(const char *dir, const char *name)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *de;
    while (d && (de = readdir(d)))
        found |= strcmp(de->d_name, name) == 0;
    if (d)
        closedir(d);
    return found;
}

static size_t dir_count(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Creates a message queue inside the holder's IPC namespace. */
static int make_queue_in(const char *ipc_ns, const char *qname)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(ipc_ns, O_RDONLY);
        if (fd < 0 || setns(fd, CLONE_NEWIPC) < 0)
            _exit(1);
        mqd_t q = mq_open(qname, O_CREAT | O_RDWR, 0600, NULL);
        _exit(q == (mqd_t)-1 ? 1 : 0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

TEST(pod_sysfs_shows_the_pods_devices_read_only)
{
    struct ns_holder pod;
    CHECK(ns_holder_start(&pod, CLONE_NEWNET | CLONE_NEWIPC) == 0);
    char sys[4096], again[4096], net[4200];
    CHECK(podmounts_ensure_sysfs(state, "pod1", pod.net, sys, sizeof(sys), err,
                                 sizeof(err)) == 0);
    snprintf(net, sizeof(net), "%s/class/net", sys);
    /* A fresh network namespace has only lo; the node has more. */
    CHECK(dir_has(net, "lo"));
    CHECK_EQ_U(dir_count(net), 1);
    CHECK(dir_count("/sys/class/net") > 1);
    struct statvfs sv;
    CHECK(statvfs(sys, &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) &&
          (sv.f_flag & ST_NODEV) && (sv.f_flag & ST_NOEXEC));

    /* Idempotent: a second container of the pod does not stack a mount. */
    CHECK(podmounts_ensure_sysfs(state, "pod1", pod.net, again, sizeof(again), err,
                                 sizeof(err)) == 0);
    CHECK_STR(again, sys);
    CHECK_EQ_U(mounts_at(sys), 1);

    CHECK(podmounts_release(state, "pod1", err, sizeof(err)) == 0);
    CHECK_EQ_U(mounts_at(sys), 0);
    CHECK(access(sys, F_OK) != 0);
    ns_holder_stop(&pod);
}

TEST(pod_mqueue_is_the_pods_own)
{
    struct ns_holder pod;
    CHECK(ns_holder_start(&pod, CLONE_NEWNET | CLONE_NEWIPC) == 0);
    CHECK(make_queue_in(pod.ipc, "/uid-mapper-test-q") == 0);
    char mq[4096];
    CHECK(podmounts_ensure_mqueue(state, "pod2", pod.ipc, mq, sizeof(mq), err,
                                  sizeof(err)) == 0);
    CHECK(dir_has(mq, "uid-mapper-test-q"));
    CHECK(!dir_has("/dev/mqueue", "uid-mapper-test-q"));
    CHECK_EQ_U(mounts_at(mq), 1);
    CHECK(podmounts_ensure_mqueue(state, "pod2", pod.ipc, mq, sizeof(mq), err,
                                  sizeof(err)) == 0);
    CHECK_EQ_U(mounts_at(mq), 1);
    CHECK(podmounts_release(state, "pod2", err, sizeof(err)) == 0);
    CHECK_EQ_U(mounts_at(mq), 0);
    ns_holder_stop(&pod);
}

static int list_pod(const char *pod_id, void *arg)
{
    CHECK_STR(pod_id, "pod3");
    (*(int *)arg)++;
    return 0;
}

TEST(foreach_and_release_of_absent_pod)
{
    struct ns_holder pod;
    CHECK(ns_holder_start(&pod, CLONE_NEWNET | CLONE_NEWIPC) == 0);
    char path[4096];
    CHECK(podmounts_ensure_sysfs(state, "pod3", pod.net, path, sizeof(path), err,
                                 sizeof(err)) == 0);
    CHECK(podmounts_ensure_mqueue(state, "pod3", pod.ipc, path, sizeof(path), err,
                                  sizeof(err)) == 0);
    int n = 0;
    CHECK(podmounts_foreach(state, list_pod, &n) == 0);
    CHECK_EQ_U(n, 1);
    CHECK(podmounts_release(state, "pod3", err, sizeof(err)) == 0);
    CHECK(podmounts_release(state, "never-was", err, sizeof(err)) == 0);
    n = 0;
    CHECK(podmounts_foreach(state, list_pod, &n) == 0);
    CHECK_EQ_U(n, 0);
    ns_holder_stop(&pod);
}

TEST(bad_inputs)
{
    char path[4096];
    CHECK(podmounts_ensure_sysfs(state, "../etc", "/proc/self/ns/net", path, sizeof(path),
                                 err, sizeof(err)) == -1);
    CHECK(strstr(err, "pod ID \"../etc\" cannot name a directory") != NULL);
    CHECK(podmounts_ensure_sysfs(state, "pod4", "/nonexistent/netns", path, sizeof(path),
                                 err, sizeof(err)) == -1);
    CHECK(strstr(err, "open /nonexistent/netns") != NULL);
    /* A file that is not a namespace of the requested kind. */
    CHECK(podmounts_ensure_mqueue(state, "pod4", "/proc/self/ns/net", path, sizeof(path),
                                  err, sizeof(err)) == -1);
    CHECK(strstr(err, "setns /proc/self/ns/net") != NULL);
    CHECK(podmounts_release(state, "pod4", err, sizeof(err)) == 0);
}

int main(void)
{
    const char *why = ns_capable_here() ? NULL : "needs root and namespaces";
    if (!why && !make_temp_dir(state)) {
        perror("mkdtemp");
        return 1;
    }
    RUN_UNLESS(why, pod_sysfs_shows_the_pods_devices_read_only);
    RUN_UNLESS(why, pod_mqueue_is_the_pods_own);
    RUN_UNLESS(why, foreach_and_release_of_absent_pod);
    RUN_UNLESS(why, bad_inputs);
    if (!why && remove_state_dir(__FILE__, state, (const char *const[]){"pods", NULL}) != 0)
        return 1;
    return unit_done();
}

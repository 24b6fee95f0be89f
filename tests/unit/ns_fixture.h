/* Test fixtures for code that touches namespaces (root only):
 *   struct ns_holder h; ns_holder_start(&h, CLONE_NEWNET | CLONE_NEWIPC);
 *     a child process parked in fresh namespaces; h.net / h.ipc are the
 *     /proc/PID/ns/... paths a pod's namespaces would have.
 *   ns_holder_stop(&h);                  kills and reaps it
 *   ns_read_file(ns_path, CLONE_NEWUSER, "/proc/self/uid_map", buf, len)
 *     reads a file from inside the namespace at ns_path (a forked child
 *     setns()es into it).
 *   make_temp_dir(buf)                   a fresh directory under /tmp
 *   remove_state_dir(__FILE__, dir, subdirs)  removes it at the end, FAIL if
 *                                        the tests left anything in it */
#pragma once
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct ns_holder {
    pid_t pid;
    char net[64], ipc[64];
};

static inline int ns_holder_start(struct ns_holder *h, int flags)
{
    int ready[2];
    if (pipe(ready) < 0)
        return -1;
    h->pid = fork();
    if (h->pid == 0) {
        close(ready[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char ok = unshare(flags) == 0;
        if (write(ready[1], &ok, 1) != 1 || !ok)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char ok = 0;
    if (h->pid < 0 || read(ready[0], &ok, 1) != 1 || !ok) {
        close(ready[0]);
        if (h->pid > 0)
            waitpid(h->pid, NULL, 0);
        return -1;
    }
    close(ready[0]);
    snprintf(h->net, sizeof(h->net), "/proc/%d/ns/net", (int)h->pid);
    snprintf(h->ipc, sizeof(h->ipc), "/proc/%d/ns/ipc", (int)h->pid);
    return 0;
}

static inline void ns_holder_stop(struct ns_holder *h)
{
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
}

static inline int ns_read_file(const char *ns_path, int nstype, const char *file, char *buf,
                               size_t len)
{
    int out[2];
    if (pipe(out) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(out[0]);
        int nsfd = open(ns_path, O_RDONLY);
        if (nsfd < 0 || setns(nsfd, nstype) < 0)
            _exit(1);
        int fd = open(file, O_RDONLY);
        char tmp[8192];
        ssize_t n = fd < 0 ? -1 : read(fd, tmp, sizeof(tmp));
        _exit(n >= 0 && write(out[1], tmp, (size_t)n) == n ? 0 : 1);
    }
    close(out[1]);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < len && (n = read(out[0], buf + used, len - 1 - used)) > 0)
        used += (size_t)n;
    buf[used] = '\0';
    close(out[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static inline char *make_temp_dir(char buf[64])
{
    snprintf(buf, 64, "/tmp/uid-mapper-test.XXXXXX");
    return mkdtemp(buf);
}

/* Removes a test's state directory and its subdirectories (a NULL-terminated
 * list), which the tests must have emptied. Prints a FAIL line and returns
 * -1 if something was left behind. */
static inline int remove_state_dir(const char *test_file, const char *dir,
                                   const char *const subdirs[])
{
    for (; *subdirs; subdirs++) {
        char sub[128];
        snprintf(sub, sizeof(sub), "%s/%s", dir, *subdirs);
        rmdir(sub);
    }
    if (rmdir(dir) == 0)
        return 0;
    printf("FAIL: %s:cleanup (%s left behind)\n", test_file, dir);
    return -1;
}

/* Can this process make and enter namespaces (root in a capable kernel)? */
static inline bool ns_capable_here(void)
{
    struct ns_holder h;
    if (geteuid() != 0 || ns_holder_start(&h, CLONE_NEWUSER | CLONE_NEWNET) < 0)
        return false;
    ns_holder_stop(&h);
    return true;
}

#include "effects/nsrun.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* The child reports through a pipe: nothing on success, else its message. */
static void child(int report_fd, const char *ns_path, int nstype, ns_step_fn step,
                  void *arg)
{
    char msg[512] = "";
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        snprintf(msg, sizeof(msg), "open %s: %s", ns_path, strerror(errno));
    else if (setns(fd, nstype) < 0)
        snprintf(msg, sizeof(msg), "setns %s: %s", ns_path, strerror(errno));
    else
        step(arg, msg, sizeof(msg));
    size_t len = strlen(msg);
    _exit(len == 0 || write(report_fd, msg, len) == (ssize_t)len ? 0 : 1);
}

int ns_run_in(const char *ns_path, int nstype, ns_step_fn step, void *arg, char *err,
              size_t errlen)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        child(report[1], ns_path, nstype, step, arg);
    }
    int fork_errno = errno;
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        snprintf(err, errlen, "fork: %s", strerror(fork_errno));
        return -1;
    }

    char msg[512];
    size_t used = 0;
    ssize_t n;
    while (used < sizeof(msg) - 1 &&
           ((n = read(report[0], msg + used, sizeof(msg) - 1 - used)) > 0 ||
            (n < 0 && errno == EINTR)))
        used += n > 0 ? (size_t)n : 0;
    msg[used] = '\0';
    close(report[0]);

    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (used > 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "helper process in %s died (status 0x%x)", ns_path, status);
        return -1;
    }
    return 0;
}

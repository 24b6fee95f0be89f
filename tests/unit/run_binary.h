/* Helpers for tests that run processes, the built uid-mapper above all:
 *   uid_mapper_binary(path)      BUILD/uid-mapper, beside this BUILD/tests/
 *                                binary; 0, or -1 if /proc/self/exe is unreadable
 *   run_captured(argv, in, &r)   runs argv[0] with in as standard input and
 *                                waits; r.status (128 + signal if killed),
 *                                r.out and r.err hold what it printed
 *   wait_exit(pid, timeout_ms)   a child's exit status, or -1 (and the child
 *                                killed) if it runs longer than timeout_ms
 *   now_ms()                     a monotonic clock */
#pragma once
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline int uid_mapper_binary(char path[PATH_MAX])
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0)
        return -1;
    self[n] = '\0';
    snprintf(path, PATH_MAX, "%s/../uid-mapper", dirname(self));
    return 0;
}

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int wait_exit(pid_t pid, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    int status;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(10000);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct captured {
    int status;
    char out[65536], err[4096];
};

/* An unlinked temporary file holding content (if any), read from the start. */
static inline int captured_temp_file(const char *content)
{
    char path[] = "/tmp/uid-mapper-test-io.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    if (content && write(fd, content, strlen(content)) != (ssize_t)strlen(content))
        fprintf(stderr, "  cannot write a temporary file\n");
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* Reads the whole file (from its start) into buf as a string; closes fd. */
static inline void captured_slurp(int fd, char *buf, size_t len)
{
    size_t n = 0;
    ssize_t r;
    lseek(fd, 0, SEEK_SET);
    while (n + 1 < len && (r = read(fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd);
}

static inline void run_captured(char *const argv[], const char *stdin_text, struct captured *r)
{
    int in = captured_temp_file(stdin_text), out = captured_temp_file(NULL),
        err = captured_temp_file(NULL);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    close(in);
    captured_slurp(out, r->out, sizeof(r->out));
    captured_slurp(err, r->err, sizeof(r->err));
}

/* nested_node COMMAND [ARG...]
 * Runs COMMAND as root of a "usernetes node": a new user namespace that holds
 * only 2048 IDs (host 100000-102047), with its own mount, network and PID
 * namespaces and its own /proc. tests/run-unit.sh runs the kernel-facing unit
 * tests again under it to show the plugin's steps work one level down (design
 * notes, fact 7). Needs root. Exits 125 with the reason on stderr when the
 * node cannot be made, else with COMMAND's status. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>


#define NODE_FIRST_HOST_ID 100000
#define NODE_IDS 2048
#define NODE_FAILED 125

static int setup_failed(const char *what, int err)
{
    fprintf(stderr, "nested_node: %s: %s\n", what, strerror(err));
    return NODE_FAILED;
}

/* Returns 0 or errno. */
static int write_proc_file(pid_t pid, const char *name, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n == (ssize_t)strlen(text) ? 0 : n < 0 ? errno : EIO;
    close(fd);
    return rc;
}

/* The node's root once the maps are written: PID 1 of the node runs COMMAND.
 * Leaves with _exit: this process's PID namespace for children is gone by
 * then, and nothing of it needs tearing down. */
_Noreturn static void run_node(int ready, int go, int exe, char **argv)
{
    int err = unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) < 0 ? errno : 0;
    char b;
    if (write(ready, &err, sizeof(err)) != sizeof(err) || err || read(go, &b, 1) != 1)
        _exit(NODE_FAILED); /* the parent says why */
    /* Kernel IDs 100000, not the host's 0, from here on. */
    if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        _exit(setup_failed("become root of the new user namespace", errno));
    pid_t init = fork();
    if (init < 0)
        _exit(setup_failed("fork into the new PID namespace", errno));
    if (init == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Nothing mounted here reaches the host; /proc shows the node's PIDs,
         * so /proc/PID paths the tests build from fork() resolve. */
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            _exit(setup_failed("mount a /proc for the new PID namespace", errno));
        /* The work tree may sit below a directory only the host's root can
         * search (a 0700 mktemp dir), which the node's root, kernel ID
         * 100000, cannot: start from / and run COMMAND from the file opened
         * before the namespace was made. */
        if (chdir("/") < 0)
            _exit(setup_failed("chdir /", errno));
        if (exe >= 0)
            execveat(exe, "", argv, environ, AT_EMPTY_PATH);
        else
            execvp(argv[0], argv);
        _exit(setup_failed(argv[0], errno));
    }
    int status;
    if (waitpid(init, &status, 0) < 0)
        _exit(setup_failed("wait for the command", errno));
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: nested_node COMMAND [ARG...]\n");
        return 2;
    }
    /* A process in a new user namespace may not map IDs it does not hold:
     * this one, left outside, writes the node's maps. */
    int ready[2], go[2];
    if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
        return setup_failed("pipe", errno);
    int exe = -1;
    if (strchr(argv[1], '/') && (exe = open(argv[1], O_PATH | O_CLOEXEC)) < 0)
        return setup_failed(argv[1], errno);
    fflush(NULL);
    pid_t node = fork();
    if (node < 0)
        return setup_failed("fork", errno);
    if (node == 0) {
        close(ready[0]);
        close(go[1]);
        run_node(ready[1], go[0], exe, argv + 1);
    }
    close(ready[1]);
    close(go[0]);

    char map[64];
    snprintf(map, sizeof(map), "0 %d %d\n", NODE_FIRST_HOST_ID, NODE_IDS);
    int err = 0;
    const char *step = "unshare user, mount, network and PID namespaces";
    if (read(ready[0], &err, sizeof(err)) != sizeof(err))
        err = EIO;
    if (!err) {
        step = "map 2048 uids (needs root)";
        err = write_proc_file(node, "uid_map", map);
    }
    if (!err) {
        step = "map 2048 gids (needs root)";
        err = write_proc_file(node, "gid_map", map);
    }
    if (!err && write(go[1], "x", 1) != 1) {
        step = "start the node";
        err = errno;
    }
    close(go[1]); /* without the go byte, the node gives up */
    close(ready[0]);
    int status;
    if (waitpid(node, &status, 0) < 0)
        return setup_failed("wait for the node", errno);
    if (err)
        return setup_failed(step, err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

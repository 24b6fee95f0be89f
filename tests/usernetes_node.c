/* usernetes_node UID_MAP GID_MAP COMMAND [ARG...]
 * Runs COMMAND as PID 1 and root of a "usernetes node": new user, mount,
 * network and PID namespaces, the user namespace holding only the IDs that
 * the files UID_MAP and GID_MAP give it (kernel map lines, "inside outside
 * count", written as they are; e.g. a punch-holed map that `uid-mapper audit
 * --suggest-map` suggested). COMMAND starts with a private copy of the mounts
 * and its own /proc. `tests/e2e/run.sh nested` (lib/nested.sh) runs
 * containerd, runc and the plugin in such a node, and tests/run-unit.sh runs
 * the kernel-facing unit tests again in one of 2048 IDs (design notes,
 * fact 7).
 *
 * Needs root. Stays in the foreground until COMMAND exits, and exits with its
 * status (125 and the reason on stderr when the node cannot be made). Its
 * death or a SIGTERM/SIGINT kills the node: everything in the node's PID
 * namespace dies with COMMAND. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NODE_FAILED 125
#define MAP_TEXT_MAX 4096 /* the kernel takes a map in one write of less than a page */

static volatile sig_atomic_t node_pid;

static int setup_failed(const char *what, int err)
{
    fprintf(stderr, "usernetes_node: %s: %s\n", what, strerror(err));
    return NODE_FAILED;
}

/* The map files are read before the node exists, so that a bad path fails
 * early and the text goes to the kernel in the one write it demands. */
static int read_map(const char *path, char *text, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return setup_failed(path, errno);
    ssize_t n = read(fd, text, size - 1);
    int err = errno;
    close(fd);
    if (n < 0)
        return setup_failed(path, err);
    if (n == 0 || (size_t)n == size - 1)
        return setup_failed(path, n ? EFBIG : ENODATA);
    text[n] = '\0';
    return 0;
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

/* PID 1 of the node, once its parent has written the maps (or closed the
 * pipe, having failed to). */
_Noreturn static void run_node_init(int go, int exe, char **argv)
{
    char b;
    if (read(go, &b, 1) != 1)
        _exit(NODE_FAILED); /* the parent says why */
    /* Root of the node, kernel ID = the map's host ID for 0: from here on
     * exec keeps this process's capabilities in the node's namespace. */
    if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        _exit(setup_failed("become root of the new user namespace", errno));
    /* The node dies with the launcher (set after the ID change, which clears
     * it). The launcher holds the pipe open while it lives: end of file now
     * means it died before the line below could take effect. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (fcntl(go, F_SETFL, O_NONBLOCK) < 0 || read(go, &b, 1) == 0)
        _exit(NODE_FAILED);
    close(go);
    /* Nothing mounted in the node reaches the host; /proc shows the node's
     * PIDs, as containerd and runc expect of their own /proc. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        _exit(setup_failed("mount a /proc for the new PID namespace", errno));
    /* The caller's directory, and the one COMMAND lives in, may be ones the
     * node's root cannot search (a 0700 mktemp dir): start from / and run
     * COMMAND from the file opened before the node existed. */
    if (chdir("/") < 0)
        _exit(setup_failed("chdir /", errno));
    if (exe >= 0)
        execveat(exe, "", argv, environ, AT_EMPTY_PATH);
    else
        execvp(argv[0], argv);
    _exit(setup_failed(argv[0], errno));
}

static void kill_node(int sig)
{
    (void)sig;
    if (node_pid > 0)
        kill(node_pid, SIGKILL);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: usernetes_node UID_MAP GID_MAP COMMAND [ARG...]\n");
        return 2;
    }
    static char uid_map[MAP_TEXT_MAX], gid_map[MAP_TEXT_MAX];
    int rc = read_map(argv[1], uid_map, sizeof(uid_map));
    if (!rc)
        rc = read_map(argv[2], gid_map, sizeof(gid_map));
    if (rc)
        return rc;

    int exe = -1;
    if (strchr(argv[3], '/') && (exe = open(argv[3], O_PATH | O_CLOEXEC)) < 0)
        return setup_failed(argv[3], errno);

    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0)
        return setup_failed("pipe", errno);
    fflush(NULL);
    /* clone with fork semantics: the child is PID 1 of the new PID namespace
     * and, being in the new user namespace, cannot map IDs it does not hold,
     * so this process, left outside, writes its maps. */
    long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | SIGCHLD,
                       NULL, NULL, NULL, NULL);
    if (pid < 0)
        return setup_failed("clone user, mount, network and PID namespaces", errno);
    if (pid == 0) {
        close(go[1]);
        run_node_init(go[0], exe, argv + 3);
    }
    node_pid = (pid_t)pid;
    close(go[0]);
    /* Killed before this, the launcher closes the pipe and the node gives up. */
    struct sigaction sa = {.sa_handler = kill_node};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    const char *step = "write the node's uid_map (needs root; see the kernel's rules for maps)";
    int err = write_proc_file(node_pid, "uid_map", uid_map);
    if (!err) {
        step = "write the node's gid_map (needs root; see the kernel's rules for maps)";
        err = write_proc_file(node_pid, "gid_map", gid_map);
    }
    if (!err && write(go[1], "x", 1) != 1) {
        step = "start the node";
        err = errno;
    }
    if (err)
        close(go[1]); /* without the go byte, the node gives up */
    /* Otherwise the write end stays open while this process lives: the node
     * tells from it whether the launcher died before the node could ask to
     * die with it. */

    int status;
    while (waitpid(node_pid, &status, 0) < 0)
        if (errno != EINTR)
            return setup_failed("wait for the node", errno);
    if (err)
        return setup_failed(step, err);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

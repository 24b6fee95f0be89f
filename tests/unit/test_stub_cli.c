/* `uid-mapper run` as the runtime starts it: the CLI and environment
 * contract, exit codes, pre-started mode over an inherited socket, and
 * external mode's reconnect and signal handling. Runs the built binary. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns_fixture.h"
#include "run_binary.h"
#include "test_stub_peer.h"
#include "unit.h"

static char binary[PATH_MAX];
static char logfile[] = "/tmp/uid-mapper-cli-test.XXXXXX";
/* The configuration every started plugin gets: a state_dir of its own, not
 * the default /run/uid-mapper of the test machine. */
static char state[64], config[128];

/* Starts the binary with exactly argv and envp (no PATH, like the runtime);
 * fd3 (if >= 0) becomes fd 3; stderr goes to the log file. */
static pid_t spawn(char *const argv[], char *const envp[], int fd3)
{
    pid_t pid = fork();
    if (pid == 0) {
        int log = open(logfile, O_WRONLY | O_TRUNC);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(log, 2);
        if (fd3 >= 0)
            dup2(fd3, 3); /* dup2 clears close-on-exec on the copy */
        execve(binary, argv, envp);
        _exit(127);
    }
    return pid;
}

static int run_argv(char *const argv[], char *const envp[])
{
    return wait_exit(spawn(argv, envp, -1), 5000);
}

static bool log_contains(const char *needle)
{
    char buf[8192] = {0};
    FILE *f = fopen(logfile, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static char *no_env[] = {NULL};

TEST(usage_errors_exit_2)
{
    static char *const cases[][4] = {
        {"uid-mapper", "run", "--bogus", NULL},
        {"uid-mapper", "run", "--idx=1", NULL},
        {"uid-mapper", "run", "--name=a b", NULL},
        {"uid-mapper", "run", "--log-level=loud", NULL},
        {"uid-mapper", "run", "--config=/nonexistent/uid-mapper.yaml", NULL},
        {"uid-mapper", "run", "stray", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = run_argv(cases[i], no_env);
        if (rc != 2)
            fprintf(stderr, "  %s: exit %d\n", cases[i][2], rc);
        CHECK(rc == 2);
    }
}

TEST(help_and_version_exit_0)
{
    char *help[] = {"uid-mapper", "run", "--help", NULL};
    char *version[] = {"uid-mapper", "--version", NULL};
    CHECK_EQ_U(run_argv(help, no_env), 0);
    CHECK_EQ_U(run_argv(version, no_env), 0);
}

TEST(bad_inherited_socket_exits_1)
{
    char *argv[] = {"uid-mapper", NULL};
    char *not_a_number[] = {"NRI_PLUGIN_SOCKET=three", NULL};
    char *not_a_socket[] = {"NRI_PLUGIN_SOCKET=0", NULL}; /* /dev/null */
    CHECK_EQ_U(run_argv(argv, not_a_number), 1);
    CHECK(log_contains("NRI_PLUGIN_SOCKET"));
    CHECK_EQ_U(run_argv(argv, not_a_socket), 1);
}

/* Reads until the peer holds `want` messages; false on EOF or 3 s timeout. */
static bool read_msgs(int fd, struct peer *p, int want)
{
    int64_t deadline = now_ms() + 3000;
    uint8_t buf[4096];
    while (p->n < want) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return false;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0 || peer_read(p, buf, (size_t)n) != 0)
            return false;
    }
    return true;
}

static bool send_wbuf(int fd, struct wbuf *w)
{
    bool ok = write(fd, wbuf_head(w), wbuf_len(w)) == (ssize_t)wbuf_len(w);
    wbuf_consume(w, wbuf_len(w));
    return ok;
}

/* Reads the RegisterPlugin call and checks the name and index in it. */
static void expect_registration(int fd, const char *name, const char *idx)
{
    struct peer p;
    peer_init(&p);
    CHECK(read_msgs(fd, &p, 1));
    if (p.n == 1 && p.msgs[0].req) {
        CHECK_STR(p.msgs[0].req->method, "RegisterPlugin");
        Nri__Pkg__Api__V1alpha1__RegisterPluginRequest *r =
            nri__pkg__api__v1alpha1__register_plugin_request__unpack(
                NULL, p.msgs[0].req->payload.len, p.msgs[0].req->payload.data);
        CHECK(r != NULL);
        if (r) {
            CHECK_STR(r->plugin_name, name);
            CHECK_STR(r->plugin_idx, idx);
            nri__pkg__api__v1alpha1__register_plugin_request__free_unpacked(r, NULL);
        }
    }
    peer_free(&p);
}

/* Accepts registration and configures the plugin; checks the reply. */
static void register_and_configure(int fd)
{
    struct wbuf w = {0};
    struct peer p;
    peer_init(&p);
    peer_answer_register(&w, 1, 0, NULL);
    Nri__Pkg__Api__V1alpha1__ConfigureRequest req = NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;
    req.config = config;
    peer_call(&w, 1, "Configure", &req.base);
    CHECK(send_wbuf(fd, &w));
    CHECK(read_msgs(fd, &p, 1));
    CHECK_EQ_U(peer_status(peer_reply(&p, 1)), 0);
    peer_free(&p);
    wbuf_free(&w);
}

TEST(prestarted_serves_then_exits_0_when_the_runtime_goes)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    char *argv[] = {"10-uid-mapper", NULL};
    char *env[] = {"NRI_PLUGIN_NAME=probe", "NRI_PLUGIN_IDX=42", "NRI_PLUGIN_SOCKET=3", NULL};
    pid_t pid = spawn(argv, env, sv[1]);
    close(sv[1]);
    expect_registration(sv[0], "probe", "42");
    register_and_configure(sv[0]);
    close(sv[0]);
    CHECK_EQ_U(wait_exit(pid, 3000), 0);
}

TEST(prestarted_exits_1_with_one_log_line_on_a_broken_stream)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    char *argv[] = {"10-uid-mapper", NULL};
    char *env[] = {"NRI_PLUGIN_NAME=uid-mapper", "NRI_PLUGIN_IDX=10", "NRI_PLUGIN_SOCKET=3", NULL};
    pid_t pid = spawn(argv, env, sv[1]);
    close(sv[1]);
    expect_registration(sv[0], "uid-mapper", "10");
    register_and_configure(sv[0]);
    uint8_t mh[MUX_HEADER_LEN];
    mux_put_header(mh, MUX_CONN_PLUGIN, 0xffffffff);
    CHECK(write(sv[0], mh, sizeof(mh)) == (ssize_t)sizeof(mh));
    CHECK_EQ_U(wait_exit(pid, 3000), 1);
    CHECK(log_contains("closing the NRI connection: mux frame"));
    close(sv[0]);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int accept_within(int lfd, int timeout_ms)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) != 1)
        return -1;
    return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

TEST(external_reconnects_when_the_runtime_restarts_and_stops_on_sigterm)
{
    char dir[] = "/tmp/uid-mapper-ext.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sock[PATH_MAX];
    snprintf(sock, sizeof(sock), "%s/nri.sock", dir);
    char sockopt[PATH_MAX + 16];
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", sock);
    char *argv[] = {"uid-mapper", "run", sockopt, "--idx=05", NULL};
    pid_t pid = spawn(argv, no_env, -1); /* the runtime is not up yet */
    usleep(300 * 1000);

    int lfd = listen_unix(sock);
    CHECK(lfd >= 0);
    int64_t up = now_ms();
    int fd = accept_within(lfd, 6000); /* backoff is capped at 5 s */
    CHECK(fd >= 0);
    expect_registration(fd, "uid-mapper", "05");
    register_and_configure(fd);
    close(fd); /* the runtime restarts */
    fd = accept_within(lfd, 2000);
    CHECK(fd >= 0);
    CHECK(now_ms() - up < 8000);
    expect_registration(fd, "uid-mapper", "05");
    kill(pid, SIGTERM);
    CHECK_EQ_U(wait_exit(pid, 2000), 0);
    close(fd);
    close(lfd);
    unlink(sock);
    rmdir(dir);
}

TEST(external_exits_1_when_registration_is_refused)
{
    char dir[] = "/tmp/uid-mapper-ext.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sock[PATH_MAX], sockopt[PATH_MAX + 16];
    snprintf(sock, sizeof(sock), "%s/nri.sock", dir);
    snprintf(sockopt, sizeof(sockopt), "--socket=%s", sock);
    int lfd = listen_unix(sock);
    char *argv[] = {"uid-mapper", "run", sockopt, NULL};
    pid_t pid = spawn(argv, no_env, -1);
    int fd = accept_within(lfd, 2000);
    CHECK(fd >= 0);
    expect_registration(fd, "uid-mapper", "00");
    struct wbuf w = {0};
    peer_answer_register(&w, 1, 2, "plugin name already registered");
    CHECK(send_wbuf(fd, &w));
    CHECK_EQ_U(wait_exit(pid, 2000), 1);
    CHECK(log_contains("plugin name already registered"));
    wbuf_free(&w);
    close(fd);
    close(lfd);
    unlink(sock);
    rmdir(dir);
}

int main(void)
{
    if (uid_mapper_binary(binary) < 0)
        return 1;
    if (access(binary, X_OK) != 0) {
        SKIP(all, "build/uid-mapper not built");
        return 0;
    }
    int fd = mkstemp(logfile);
    if (fd < 0 || !make_temp_dir(state))
        return 1;
    close(fd);
    snprintf(config, sizeof(config), "state_dir: %s\n", state);
    signal(SIGPIPE, SIG_IGN);

    RUN(usage_errors_exit_2);
    RUN(help_and_version_exit_0);
    RUN(bad_inherited_socket_exits_1);
    RUN(prestarted_serves_then_exits_0_when_the_runtime_goes);
    RUN(prestarted_exits_1_with_one_log_line_on_a_broken_stream);
    RUN(external_reconnects_when_the_runtime_restarts_and_stops_on_sigterm);
    RUN(external_exits_1_when_registration_is_refused);
    unlink(logfile);
    if (remove_state_dir(__FILE__, state,
                         (const char *const[]){"userns", "containers", "pods", NULL}) != 0)
        return 1;
    return unit_done();
}

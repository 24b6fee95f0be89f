/* The stub's event loop on a real socket, with a forked plugin and this
 * process as the runtime: clean close, stream errors, timeouts, signals. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "run_binary.h"
#include "test_stub_peer.h"
#include "unit.h"

struct child_opts {
    int registration_timeout_ms;
    int stall_timeout_ms;
    bool reject_config;
    int sndbuf; /* shrink the plugin's send buffer (0: leave) */
};

static volatile sig_atomic_t child_stop;
static int child_disconnects;

static void on_term(int sig) { (void)sig, child_stop = 1; }
static void on_disconnect(void *ctx) { (void)ctx, child_disconnects++; }

static int reject(void *ctx, const char *config, const char *rt, const char *ver,
                  struct nri_error *err)
{
    (void)ctx, (void)config, (void)rt, (void)ver;
    snprintf(err->msg, sizeof(err->msg), "unknown key 'x'");
    return -1;
}

/* Forks a plugin serving one end of a socketpair; the child exits with
 * 10 * result + number of disconnected() calls. */
static pid_t start_plugin(const struct child_opts *co, int *runtime_fd)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        log_set_level(LOG_LVL_ERROR);
        struct sigaction sa = {.sa_handler = on_term};
        sigaction(SIGTERM, &sa, NULL);
        sigset_t block, wait_mask;
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &wait_mask);
        sigdelset(&wait_mask, SIGTERM);
        if (co->sndbuf)
            setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &co->sndbuf, sizeof(co->sndbuf));
        struct nri_handlers h = {.disconnected = on_disconnect,
                                 .configure = co->reject_config ? reject : NULL};
        struct nri_stub_options o = {
            .name = "uid-mapper",
            .idx = "10",
            .handlers = &h,
            .stop = &child_stop,
            .wait_sigmask = &wait_mask,
            .registration_timeout_ms = co->registration_timeout_ms,
            .stall_timeout_ms = co->stall_timeout_ms,
        };
        enum nri_stub_result r = nri_stub_serve(sv[1], &o);
        _exit(10 * (int)r + child_disconnects);
    }
    close(sv[1]);
    *runtime_fd = sv[0];
    return pid;
}

static int send_all(int fd, struct wbuf *w)
{
    while (wbuf_len(w) > 0) {
        ssize_t n = write(fd, wbuf_head(w), wbuf_len(w));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        wbuf_consume(w, (size_t)n);
    }
    return 0;
}

/* Reads from the plugin until the peer holds `want` messages (or 2 s pass). */
static int read_msgs(int fd, struct peer *p, int want)
{
    int64_t deadline = now_ms() + 2000;
    uint8_t buf[4096];
    while (p->n < want) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - now_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0)
            return -1;
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0 || peer_read(p, buf, (size_t)n) != 0)
            return -1;
    }
    return 0;
}

/* Register + configure, as the runtime does first. Returns the peer state. */
static void handshake(int fd, struct peer *p)
{
    struct wbuf w = {0};
    CHECK(read_msgs(fd, p, 1) == 0); /* RegisterPlugin */
    peer_answer_register(&w, 1, 0, NULL);
    Nri__Pkg__Api__V1alpha1__ConfigureRequest req = NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;
    peer_call(&w, 1, "Configure", &req.base);
    CHECK(send_all(fd, &w) == 0);
    CHECK(read_msgs(fd, p, 2) == 0);
    wbuf_free(&w);
}

/* A plugin through registration and Configure, this process its runtime. */
struct configured {
    pid_t pid;
    int fd; /* the runtime's end */
    struct peer peer;
};

static void start_configured(struct configured *c, const struct child_opts *co)
{
    c->pid = start_plugin(co, &c->fd);
    peer_init(&c->peer);
    handshake(c->fd, &c->peer);
}

#define EXIT_CODE(result) (10 * (result) + 1) /* one disconnected() call */

TEST(serves_until_the_runtime_closes)
{
    struct child_opts co = {0};
    struct configured c;
    start_configured(&c, &co);
    CHECK_EQ_U(peer_status(peer_reply(&c.peer, 1)), 0);
    close(c.fd);
    CHECK_EQ_U(wait_exit(c.pid, 2000), EXIT_CODE(NRI_STUB_RUNTIME_GONE));
    peer_free(&c.peer);
}

TEST(broken_stream_closes_the_connection)
{
    struct child_opts co = {0};
    struct configured c;
    start_configured(&c, &co);
    uint8_t mh[MUX_HEADER_LEN];
    mux_put_header(mh, MUX_CONN_PLUGIN, 0x7fffffff);
    CHECK(write(c.fd, mh, sizeof(mh)) == (ssize_t)sizeof(mh));
    CHECK_EQ_U(wait_exit(c.pid, 2000), EXIT_CODE(NRI_STUB_STREAM_ERROR));
    uint8_t b;
    CHECK(read(c.fd, &b, 1) == 0); /* the plugin closed its end */
    close(c.fd);
    peer_free(&c.peer);
}

TEST(runtime_that_never_configures_times_out)
{
    struct child_opts co = {.registration_timeout_ms = 200};
    int fd;
    int64_t start = now_ms();
    pid_t pid = start_plugin(&co, &fd);
    CHECK_EQ_U(wait_exit(pid, 3000), EXIT_CODE(NRI_STUB_STREAM_ERROR));
    CHECK(now_ms() - start >= 200);
    close(fd);
}

TEST(runtime_that_never_reads_times_out)
{
    struct child_opts co = {.stall_timeout_ms = 300, .sndbuf = 4096};
    struct configured c;
    start_configured(&c, &co);
    int small = 4096;
    setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    /* Thousands of requests whose error replies we never read. */
    struct wbuf w = {0};
    for (uint32_t stream = 3; stream < 3 + 2 * 5000; stream += 2)
        peer_call_raw(&w, stream, NRI_PLUGIN_SERVICE, "NoSuchMethod", "", 0);
    int64_t start = now_ms();
    CHECK(send_all(c.fd, &w) == 0);
    CHECK_EQ_U(wait_exit(c.pid, 5000), EXIT_CODE(NRI_STUB_STREAM_ERROR));
    CHECK(now_ms() - start >= 300);
    wbuf_free(&w);
    close(c.fd);
    peer_free(&c.peer);
}

TEST(runtime_that_stops_mid_message_times_out)
{
    struct child_opts co = {.stall_timeout_ms = 300};
    struct configured c;
    start_configured(&c, &co);
    struct wbuf w = {0};
    peer_call_raw(&w, 3, NRI_PLUGIN_SERVICE, "Shutdown", "", 0);
    CHECK(write(c.fd, wbuf_head(&w), 5) == 5); /* then silence */
    int64_t start = now_ms();
    CHECK_EQ_U(wait_exit(c.pid, 3000), EXIT_CODE(NRI_STUB_STREAM_ERROR));
    CHECK(now_ms() - start >= 250);
    wbuf_free(&w);
    close(c.fd);
    peer_free(&c.peer);
}

TEST(slow_but_steady_runtime_is_served)
{
    struct child_opts co = {.stall_timeout_ms = 300};
    struct configured c;
    start_configured(&c, &co);
    /* One request dribbled out over ~1 s, never 300 ms without a byte. */
    struct wbuf w = {0};
    peer_call_raw(&w, 3, NRI_PLUGIN_SERVICE, "Shutdown", "", 0);
    size_t n = wbuf_len(&w);
    for (size_t i = 0; i < n; i++) {
        CHECK(write(c.fd, wbuf_head(&w) + i, 1) == 1);
        usleep((useconds_t)(1000000 / n));
    }
    CHECK(read_msgs(c.fd, &c.peer, 3) == 0);
    CHECK_EQ_U(peer_status(peer_reply(&c.peer, 3)), 0);
    close(c.fd);
    CHECK_EQ_U(wait_exit(c.pid, 2000), EXIT_CODE(NRI_STUB_RUNTIME_GONE));
    wbuf_free(&w);
    peer_free(&c.peer);
}

TEST(stop_signal_ends_the_loop)
{
    struct child_opts co = {0};
    struct configured c;
    start_configured(&c, &co);
    kill(c.pid, SIGTERM);
    CHECK_EQ_U(wait_exit(c.pid, 2000), EXIT_CODE(NRI_STUB_STOPPED));
    close(c.fd);
    peer_free(&c.peer);
}

TEST(refused_registration_ends_the_loop)
{
    struct child_opts co = {0};
    int fd;
    pid_t pid = start_plugin(&co, &fd);
    struct peer p;
    peer_init(&p);
    struct wbuf w = {0};
    CHECK(read_msgs(fd, &p, 1) == 0);
    peer_answer_register(&w, 1, TTRPC_UNKNOWN, "invalid plugin name");
    CHECK(send_all(fd, &w) == 0);
    CHECK_EQ_U(wait_exit(pid, 2000), EXIT_CODE(NRI_STUB_REFUSED));
    wbuf_free(&w);
    close(fd);
    peer_free(&p);
}

TEST(rejected_configuration_is_answered_then_ends_the_loop)
{
    struct child_opts co = {.reject_config = true};
    struct configured c;
    start_configured(&c, &co);
    const struct peer_msg *m = peer_reply(&c.peer, 1);
    CHECK_EQ_U(peer_status(m), TTRPC_INVALID_ARGUMENT);
    if (m && m->resp->status)
        CHECK_STR(m->resp->status->message, "unknown key 'x'");
    CHECK_EQ_U(wait_exit(c.pid, 2000), EXIT_CODE(NRI_STUB_CONFIG_REJECTED));
    close(c.fd);
    peer_free(&c.peer);
}

int main(void)
{
    RUN(serves_until_the_runtime_closes);
    RUN(broken_stream_closes_the_connection);
    RUN(runtime_that_never_configures_times_out);
    RUN(runtime_that_never_reads_times_out);
    RUN(runtime_that_stops_mid_message_times_out);
    RUN(slow_but_steady_runtime_is_served);
    RUN(stop_signal_ends_the_loop);
    RUN(refused_registration_ends_the_loop);
    RUN(rejected_configuration_is_answered_then_ends_the_loop);
    return unit_done();
}

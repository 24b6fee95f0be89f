/* The stub's event loop: one non-blocking socket, one thread, poll().
 * The protocol lives in wire/session.c; this file moves its bytes and keeps
 * the promises the session cannot: a runtime that stops reading our replies
 * or stops halfway through a message cannot hold us forever (stall timeout),
 * and one that never configures us is noticed (registration timeout). */
#include "plugin/stub.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "wire/session.h"

#define DEFAULT_REGISTRATION_TIMEOUT_MS 5000 /* NRI's own default */
#define DEFAULT_STALL_TIMEOUT_MS 10000
/* Stop reading requests while this much output is queued: a runtime that
 * sends without reading cannot make us buffer without bound. */
#define OUTPUT_HIGH_WATER (8u << 20)
#define READ_CHUNK 65536

void nri_adjustment_free(nri_adjustment *adj)
{
    if (adj)
        protobuf_c_message_free_unpacked(&adj->base, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ms_until(int64_t deadline, int64_t now)
{
    return deadline <= now ? 0 : (int)(deadline - now);
}

struct loop {
    int fd;
    struct nri_session *session;
    const struct nri_stub_options *opt;
    int64_t register_deadline; /* until the runtime has configured us */
    int64_t stall_deadline;    /* moved on by every byte sent or received */
};

static void made_progress(struct loop *l)
{
    l->stall_deadline = now_ms() + l->opt->stall_timeout_ms;
}

/* Sends what the socket takes now. 0, or -1 when the runtime is gone. */
static int flush_output(struct loop *l)
{
    struct wbuf *out = nri_session_out(l->session);
    while (wbuf_len(out) > 0) {
        ssize_t n = send(l->fd, wbuf_head(out), wbuf_len(out), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            log_warn("NRI connection: send failed: %s", strerror(errno));
            return -1;
        }
        wbuf_consume(out, (size_t)n);
        made_progress(l);
    }
    return 0;
}

/* Reads one chunk into the session. Returns 1 to go on, else a result. */
static int read_input(struct loop *l, enum nri_stub_result *result)
{
    uint8_t buf[READ_CHUNK];
    ssize_t n = recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            return 1;
        log_warn("NRI connection: receive failed: %s", strerror(errno));
        *result = NRI_STUB_RUNTIME_GONE;
        return 0;
    }
    if (n == 0) {
        if (nri_session_at_boundary(l->session))
            log_info("the runtime closed the NRI connection");
        else
            log_warn("the runtime closed the NRI connection in the middle of a message");
        *result = NRI_STUB_RUNTIME_GONE;
        return 0;
    }
    made_progress(l);
    struct wire_error err = {{0}};
    if (nri_session_feed(l->session, buf, (size_t)n, &err) != 0) {
        log_error("closing the NRI connection: %s", err.msg);
        *result = NRI_STUB_STREAM_ERROR;
        return 0;
    }
    return 1;
}

/* A final state the session reached by itself, if any. */
static int session_outcome(struct loop *l, enum nri_stub_result *result)
{
    if (nri_session_refused(l->session)) {
        *result = NRI_STUB_REFUSED;
        return 1;
    }
    /* Let the rejection reach the runtime before hanging up. */
    if (nri_session_config_rejected(l->session) &&
        wbuf_len(nri_session_out(l->session)) == 0) {
        *result = NRI_STUB_CONFIG_REJECTED;
        return 1;
    }
    return 0;
}

/* Milliseconds until the nearest deadline in force, -1 for none; 0 with a
 * logged reason when one has passed. */
static int next_timeout(struct loop *l, bool *expired)
{
    const struct nri_stub_options *opt = l->opt;
    int64_t now = now_ms();
    bool replies_unread = wbuf_len(nri_session_out(l->session)) > 0;
    bool half_received = !nri_session_at_boundary(l->session);
    int timeout = -1;

    *expired = true;
    if (!nri_session_configured(l->session)) {
        if (now >= l->register_deadline) {
            log_error("the runtime did not configure the plugin within %d ms of "
                      "connecting; closing the connection", opt->registration_timeout_ms);
            return 0;
        }
        timeout = ms_until(l->register_deadline, now);
    }
    if (replies_unread || half_received) {
        if (now >= l->stall_deadline) {
            log_error(replies_unread
                          ? "the runtime has not read our replies for %d ms; "
                            "closing the connection"
                          : "the runtime sent part of a message and nothing more for %d ms; "
                            "closing the connection",
                      opt->stall_timeout_ms);
            return 0;
        }
        int stall = ms_until(l->stall_deadline, now);
        if (timeout < 0 || stall < timeout)
            timeout = stall;
    }
    *expired = false;
    return timeout;
}

static enum nri_stub_result run_loop(struct loop *l)
{
    enum nri_stub_result result;
    const struct nri_stub_options *opt = l->opt;
    struct wbuf *out = nri_session_out(l->session);

    for (;;) {
        if (opt->stop && *opt->stop)
            return NRI_STUB_STOPPED;
        if (session_outcome(l, &result))
            return result;
        bool expired;
        int timeout = next_timeout(l, &expired);
        if (expired)
            return NRI_STUB_STREAM_ERROR;

        struct pollfd pfd = {.fd = l->fd};
        if (wbuf_len(out) < OUTPUT_HIGH_WATER)
            pfd.events |= POLLIN;
        if (wbuf_len(out) > 0)
            pfd.events |= POLLOUT;
        struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000};
        int rc = ppoll(&pfd, 1, timeout < 0 ? NULL : &ts, opt->wait_sigmask);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll on the NRI connection failed: %s", strerror(errno));
            return NRI_STUB_STREAM_ERROR;
        }
        if ((pfd.revents & (POLLOUT | POLLERR)) && flush_output(l) != 0)
            return NRI_STUB_RUNTIME_GONE;
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!read_input(l, &result))
                return result;
            /* Replies go out now rather than after another poll. */
            if (flush_output(l) != 0)
                return NRI_STUB_RUNTIME_GONE;
        }
    }
}

enum nri_stub_result nri_stub_serve(int fd, const struct nri_stub_options *options)
{
    struct nri_stub_options opt = *options;
    if (opt.registration_timeout_ms <= 0)
        opt.registration_timeout_ms = DEFAULT_REGISTRATION_TIMEOUT_MS;
    if (opt.stall_timeout_ms <= 0)
        opt.stall_timeout_ms = DEFAULT_STALL_TIMEOUT_MS;

    enum nri_stub_result result = NRI_STUB_STREAM_ERROR;
    struct nri_session_config cfg = {
        .name = opt.name,
        .idx = opt.idx,
        .fallback_config = opt.fallback_config,
        .handlers = opt.handlers,
    };
    struct loop l = {.fd = fd, .opt = &opt};

    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        log_error("cannot use NRI socket fd %d: %s", fd, strerror(errno));
        goto out;
    }
    if (!(l.session = nri_session_new(&cfg)) || nri_session_register(l.session) != 0) {
        log_error("out of memory starting the NRI session");
        goto out;
    }
    l.register_deadline = now_ms() + opt.registration_timeout_ms;
    made_progress(&l);
    result = run_loop(&l);
    /* The runtime hangs up on a plugin whose configuration failed: that
     * refusal, not the hang-up, is why this connection ended. */
    if (result == NRI_STUB_RUNTIME_GONE && nri_session_config_rejected(l.session))
        result = NRI_STUB_CONFIG_REJECTED;
out:
    nri_session_free(l.session);
    close(fd);
    if (opt.handlers && opt.handlers->disconnected)
        opt.handlers->disconnected(opt.handlers->ctx);
    return result;
}

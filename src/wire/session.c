#include "wire/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "ttrpc.pb-c.h"
#include "wire/mux.h"
#include "wire/ttrpc.h"

/* Synchronize parts gathered before the handler sees them all at once. The
 * runtime splits only to stay under the 4 MiB message limit, so this bound
 * (64 full parts) is far beyond any node and only stops a runaway peer. */
#define SYNC_MAX_BYTES (64u * TTRPC_MAX_MESSAGE)

typedef Nri__Pkg__Api__V1alpha1__SynchronizeRequest sync_request;

struct nri_session {
    struct nri_session_config cfg;
    struct mux_reader mux;
    struct ttrpc_reader plugin_conn;  /* requests from the runtime */
    struct ttrpc_reader runtime_conn; /* replies to our calls */
    struct wbuf out;

    uint32_t last_request_stream; /* the runtime's stream ids must increase */
    uint32_t next_call_stream;    /* ours: odd, increasing by 2 */
    uint32_t register_stream;     /* RegisterPlugin awaiting its reply, or 0 */

    bool configured, shutdown, refused, config_rejected;

    sync_request **sync_parts;
    size_t nsync_parts;
    size_t sync_bytes;
};

/* ---- Output ---- */

/* Appends one ttrpc message in its own mux frame. Our messages never exceed
 * TTRPC_MAX_MESSAGE (callers check), so one frame always suffices. */
static int queue_message(struct nri_session *s, uint32_t conn, uint32_t stream,
                         uint8_t type, const ProtobufCMessage *envelope)
{
    size_t len = protobuf_c_message_get_packed_size(envelope);
    uint8_t *p = wbuf_reserve(&s->out, MUX_HEADER_LEN + TTRPC_HEADER_LEN + len);
    if (!p)
        return -1;
    mux_put_header(p, conn, (uint32_t)(TTRPC_HEADER_LEN + len));
    ttrpc_put_header(p + MUX_HEADER_LEN, (uint32_t)len, stream, type, 0);
    protobuf_c_message_pack(envelope, p + MUX_HEADER_LEN + TTRPC_HEADER_LEN);
    wbuf_commit(&s->out, MUX_HEADER_LEN + TTRPC_HEADER_LEN + len);
    return 0;
}

/* Answers a request of the runtime: an OK status with the packed payload, or
 * an error status with a message (payload ignored). */
static int reply(struct nri_session *s, uint32_t stream, int code,
                 const char *msg, const ProtobufCMessage *payload)
{
    Ttrpc__Status status = TTRPC__STATUS__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    uint8_t *packed = NULL;

    if (code == TTRPC_OK && payload) {
        size_t len = protobuf_c_message_get_packed_size(payload);
        if (!(packed = malloc(len ? len : 1)))
            return -1;
        protobuf_c_message_pack(payload, packed);
        resp.payload.data = packed;
        resp.payload.len = len;
        if (protobuf_c_message_get_packed_size(&resp.base) > TTRPC_MAX_MESSAGE) {
            code = TTRPC_RESOURCE_EXHAUSTED;
            msg = "uid-mapper: reply exceeds the 4 MiB ttrpc message limit";
            log_error("%s", msg);
        }
    }
    if (code != TTRPC_OK) {
        status.code = code;
        /* The generated struct is not const-correct; the string is only read. */
        status.message = (char *)(msg ? msg : "");
        resp.status = &status;
        resp.payload.len = 0;
    }
    int rc = queue_message(s, MUX_CONN_PLUGIN, stream, TTRPC_RESPONSE, &resp.base);
    free(packed);
    return rc;
}

static int reply_error(struct nri_session *s, uint32_t stream, int code,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int reply_error(struct nri_session *s, uint32_t stream, int code,
                       const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_warn("answering stream %u with status %d: %s", stream, code, msg);
    return reply(s, stream, code, msg, NULL);
}

static int reply_empty(struct nri_session *s, uint32_t stream)
{
    Nri__Pkg__Api__V1alpha1__Empty empty = NRI__PKG__API__V1ALPHA1__EMPTY__INIT;
    return reply(s, stream, TTRPC_OK, NULL, &empty.base);
}

/* ---- Logging helpers ---- */

static const char *str_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

/* "namespace/name" of a pod, for the one line logged per event. */
static void pod_label(const nri_pod *pod, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", str_or(pod->namespace_, "-"), str_or(pod->name, "-"));
}

static void log_container_event(const char *event, const nri_pod *pod,
                                const nri_container *ctr)
{
    char label[256];
    pod_label(pod, label, sizeof(label));
    log_info("%s: pod %s container %s (id %.12s)", event, label,
             str_or(ctr->name, "-"), str_or(ctr->id, "-"));
}

static void log_pod_event(const char *event, const nri_pod *pod)
{
    char label[256];
    pod_label(pod, label, sizeof(label));
    log_info("%s: pod %s (id %.12s)", event, label, str_or(pod->id, "-"));
}

/* ---- Plugin service methods ----
 * Each gets the decoded request; it may take ownership by clearing *req. */

typedef int (*method_fn)(struct nri_session *s, uint32_t stream, ProtobufCMessage **req);

#define EVENT_BIT(e) (1 << ((e) - 1))
static const int32_t subscribed_events =
    EVENT_BIT(NRI__PKG__API__V1ALPHA1__EVENT__CREATE_CONTAINER) |
    EVENT_BIT(NRI__PKG__API__V1ALPHA1__EVENT__REMOVE_CONTAINER) |
    EVENT_BIT(NRI__PKG__API__V1ALPHA1__EVENT__STOP_POD_SANDBOX) |
    EVENT_BIT(NRI__PKG__API__V1ALPHA1__EVENT__REMOVE_POD_SANDBOX);

static int serve_configure(struct nri_session *s, uint32_t stream, ProtobufCMessage **msg)
{
    const Nri__Pkg__Api__V1alpha1__ConfigureRequest *req = (void *)*msg;
    const struct nri_handlers *h = s->cfg.handlers;
    bool from_runtime = req->config && *req->config;
    const char *config = from_runtime ? req->config : str_or(s->cfg.fallback_config, "");

    log_info("Configure: runtime %s %s (NRI %s); configuration: %s (%zu bytes)",
             str_or(req->runtime_name, "unknown"), str_or(req->runtime_version, "?"),
             str_or(req->nri_version, "?"),
             from_runtime ? "the runtime's" : *config ? "--config file" : "none, defaults",
             strlen(config));
    if (h->configure) {
        struct nri_error err = {{0}};
        if (h->configure(h->ctx, config, str_or(req->runtime_name, ""),
                         str_or(req->runtime_version, ""), &err) != 0) {
            s->config_rejected = true;
            log_error("configuration rejected: %s; fix /etc/nri/conf.d/%s-%s.conf "
                      "(or the --config file) and restart the plugin",
                      str_or(err.msg, "no reason given"), s->cfg.idx, s->cfg.name);
            return reply(s, stream, TTRPC_INVALID_ARGUMENT,
                         str_or(err.msg, "uid-mapper: configuration rejected"), NULL);
        }
    }
    s->configured = true;
    Nri__Pkg__Api__V1alpha1__ConfigureResponse resp =
        NRI__PKG__API__V1ALPHA1__CONFIGURE_RESPONSE__INIT;
    resp.events = subscribed_events;
    return reply(s, stream, TTRPC_OK, NULL, &resp.base);
}

static void free_sync_parts(struct nri_session *s)
{
    for (size_t i = 0; i < s->nsync_parts; i++)
        protobuf_c_message_free_unpacked(&s->sync_parts[i]->base, NULL);
    free(s->sync_parts);
    s->sync_parts = NULL;
    s->nsync_parts = 0;
    s->sync_bytes = 0;
}

/* Keeps a partial Synchronize request until the last part arrives. The
 * runtime requires the reply to echo more=true and carry no updates. */
static int collect_sync_part(struct nri_session *s, uint32_t stream, ProtobufCMessage **msg)
{
    size_t size = protobuf_c_message_get_packed_size(*msg);
    if (s->sync_bytes + size > SYNC_MAX_BYTES) {
        free_sync_parts(s);
        return reply_error(s, stream, TTRPC_RESOURCE_EXHAUSTED,
                           "uid-mapper: split Synchronize exceeds %u bytes in total",
                           SYNC_MAX_BYTES);
    }
    sync_request **parts = realloc(s->sync_parts, (s->nsync_parts + 1) * sizeof(*parts));
    if (!parts)
        return -1;
    s->sync_parts = parts;
    s->sync_parts[s->nsync_parts++] = (sync_request *)*msg;
    s->sync_bytes += size;
    *msg = NULL;
    log_debug("Synchronize: part %zu gathered, more to come", s->nsync_parts);

    Nri__Pkg__Api__V1alpha1__SynchronizeResponse resp =
        NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_RESPONSE__INIT;
    resp.more = true;
    return reply(s, stream, TTRPC_OK, NULL, &resp.base);
}

static int serve_synchronize(struct nri_session *s, uint32_t stream, ProtobufCMessage **msg)
{
    sync_request *last = (sync_request *)*msg;
    if (last->more)
        return collect_sync_part(s, stream, msg);

    size_t npods = last->n_pods, nctrs = last->n_containers;
    for (size_t i = 0; i < s->nsync_parts; i++) {
        npods += s->sync_parts[i]->n_pods;
        nctrs += s->sync_parts[i]->n_containers;
    }
    nri_pod **pods = malloc((npods + 1) * sizeof(*pods));
    nri_container **ctrs = malloc((nctrs + 1) * sizeof(*ctrs));
    if (!pods || !ctrs) {
        free(pods);
        free(ctrs);
        return -1;
    }
    size_t np = 0, nc = 0;
    for (size_t i = 0; i <= s->nsync_parts; i++) {
        const sync_request *part = i < s->nsync_parts ? s->sync_parts[i] : last;
        for (size_t j = 0; j < part->n_pods; j++)
            pods[np++] = part->pods[j];
        for (size_t j = 0; j < part->n_containers; j++)
            ctrs[nc++] = part->containers[j];
    }
    log_info("Synchronize: %zu pods, %zu containers (in %zu parts)", npods, nctrs,
             s->nsync_parts + 1);

    const struct nri_handlers *h = s->cfg.handlers;
    struct nri_error err = {{0}};
    int failed = h->synchronize &&
                 h->synchronize(h->ctx, pods, npods, ctrs, nctrs, &err) != 0;
    free(pods);
    free(ctrs);
    free_sync_parts(s);
    if (failed)
        return reply_error(s, stream, TTRPC_UNKNOWN, "%s",
                           str_or(err.msg, "uid-mapper: synchronization failed"));

    Nri__Pkg__Api__V1alpha1__SynchronizeResponse resp =
        NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_RESPONSE__INIT;
    return reply(s, stream, TTRPC_OK, NULL, &resp.base);
}

static int serve_create_container(struct nri_session *s, uint32_t stream,
                                  ProtobufCMessage **msg)
{
    const Nri__Pkg__Api__V1alpha1__CreateContainerRequest *req = (void *)*msg;
    if (!req->pod || !req->container)
        return reply_error(s, stream, TTRPC_INVALID_ARGUMENT,
                           "uid-mapper: CreateContainer request without %s",
                           req->pod ? "container" : "pod");
    log_container_event("CreateContainer", req->pod, req->container);

    nri_adjustment *adj = malloc(sizeof(*adj));
    if (!adj)
        return -1;
    nri__pkg__api__v1alpha1__container_adjustment__init(adj);

    const struct nri_handlers *h = s->cfg.handlers;
    struct nri_error err = {{0}};
    int rc;
    if (h->create_container &&
        h->create_container(h->ctx, req->pod, req->container, adj, &err) != 0) {
        rc = reply_error(s, stream, TTRPC_UNKNOWN, "%s",
                         str_or(err.msg, "uid-mapper: container refused"));
    } else {
        Nri__Pkg__Api__V1alpha1__CreateContainerResponse resp =
            NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_RESPONSE__INIT;
        resp.adjust = adj;
        rc = reply(s, stream, TTRPC_OK, NULL, &resp.base);
    }
    nri_adjustment_free(adj);
    return rc;
}

static void remove_container(struct nri_session *s, const char *event,
                             const nri_pod *pod, const nri_container *ctr)
{
    const struct nri_handlers *h = s->cfg.handlers;
    log_container_event(event, pod, ctr);
    if (h->remove_container)
        h->remove_container(h->ctx, pod, ctr);
}

static void remove_pod(struct nri_session *s, const char *event, const nri_pod *pod)
{
    const struct nri_handlers *h = s->cfg.handlers;
    log_pod_event(event, pod);
    if (h->remove_pod)
        h->remove_pod(h->ctx, pod);
}

static int serve_remove_container(struct nri_session *s, uint32_t stream,
                                  ProtobufCMessage **msg)
{
    const Nri__Pkg__Api__V1alpha1__ContainerRequest *req = (void *)*msg;
    if (!req->pod || !req->container)
        return reply_error(s, stream, TTRPC_INVALID_ARGUMENT,
                           "uid-mapper: RemoveContainer request without %s",
                           req->pod ? "container" : "pod");
    remove_container(s, "RemoveContainer", req->pod, req->container);
    return reply_empty(s, stream);
}

static int serve_pod_gone(struct nri_session *s, uint32_t stream,
                          ProtobufCMessage **msg, const char *event)
{
    const Nri__Pkg__Api__V1alpha1__PodSandboxRequest *req = (void *)*msg;
    if (!req->pod)
        return reply_error(s, stream, TTRPC_INVALID_ARGUMENT,
                           "uid-mapper: %s request without pod", event);
    remove_pod(s, event, req->pod);
    return reply_empty(s, stream);
}

static int serve_stop_pod(struct nri_session *s, uint32_t stream, ProtobufCMessage **msg)
{
    return serve_pod_gone(s, stream, msg, "StopPodSandbox");
}

static int serve_remove_pod(struct nri_session *s, uint32_t stream, ProtobufCMessage **msg)
{
    return serve_pod_gone(s, stream, msg, "RemovePodSandbox");
}

/* NRI before v0.12 (containerd 2.2) has no dedicated RemoveContainer,
 * StopPodSandbox and RemovePodSandbox methods: it sends StateChange. v0.12
 * falls back to StateChange only for a plugin that answers Unimplemented. */
static int serve_state_change(struct nri_session *s, uint32_t stream, ProtobufCMessage **msg)
{
    const Nri__Pkg__Api__V1alpha1__StateChangeEvent *ev = (void *)*msg;
    switch (ev->event) {
    case NRI__PKG__API__V1ALPHA1__EVENT__STOP_POD_SANDBOX:
    case NRI__PKG__API__V1ALPHA1__EVENT__REMOVE_POD_SANDBOX:
        if (!ev->pod)
            break;
        remove_pod(s, ev->event == NRI__PKG__API__V1ALPHA1__EVENT__STOP_POD_SANDBOX
                          ? "StopPodSandbox" : "RemovePodSandbox", ev->pod);
        return reply_empty(s, stream);
    case NRI__PKG__API__V1ALPHA1__EVENT__REMOVE_CONTAINER:
        if (!ev->pod || !ev->container)
            break;
        remove_container(s, "RemoveContainer", ev->pod, ev->container);
        return reply_empty(s, stream);
    default:
        log_debug("StateChange: ignoring event %d (not subscribed)", ev->event);
        return reply_empty(s, stream);
    }
    return reply_error(s, stream, TTRPC_INVALID_ARGUMENT,
                       "uid-mapper: StateChange event %d without its pod or container",
                       ev->event);
}

static int serve_shutdown(struct nri_session *s, uint32_t stream, ProtobufCMessage **msg)
{
    (void)msg;
    log_info("Shutdown: the runtime is going away");
    s->shutdown = true;
    return reply_empty(s, stream);
}

static const struct method {
    const char *name;
    const ProtobufCMessageDescriptor *request;
    method_fn serve;
} plugin_methods[] = {
    {"Configure", &nri__pkg__api__v1alpha1__configure_request__descriptor, serve_configure},
    {"Synchronize", &nri__pkg__api__v1alpha1__synchronize_request__descriptor, serve_synchronize},
    {"Shutdown", &nri__pkg__api__v1alpha1__empty__descriptor, serve_shutdown},
    {"CreateContainer", &nri__pkg__api__v1alpha1__create_container_request__descriptor,
     serve_create_container},
    {"RemoveContainer", &nri__pkg__api__v1alpha1__container_request__descriptor,
     serve_remove_container},
    {"StopPodSandbox", &nri__pkg__api__v1alpha1__pod_sandbox_request__descriptor, serve_stop_pod},
    {"RemovePodSandbox", &nri__pkg__api__v1alpha1__pod_sandbox_request__descriptor,
     serve_remove_pod},
    {"StateChange", &nri__pkg__api__v1alpha1__state_change_event__descriptor,
     serve_state_change},
};

/* ---- Dispatch ---- */

static int serve_request(struct nri_session *s, const struct ttrpc_msg *m)
{
    /* Mirror ttrpc's server checks, so a confused peer learns what it did. */
    if (m->stream % 2 != 1)
        return reply_error(s, m->stream, TTRPC_INVALID_ARGUMENT,
                           "stream id %u is even; client streams are odd", m->stream);
    if (m->stream <= s->last_request_stream)
        return reply_error(s, m->stream, TTRPC_INVALID_ARGUMENT,
                           "stream id %u reused; ids must increase", m->stream);
    s->last_request_stream = m->stream;
    if (m->oversized)
        return reply_error(s, m->stream, TTRPC_RESOURCE_EXHAUSTED,
                           "message length %u exceeds the maximum of %u",
                           m->len, TTRPC_MAX_MESSAGE);
    if (m->flags & TTRPC_FLAG_REMOTE_OPEN)
        return reply_error(s, m->stream, TTRPC_UNIMPLEMENTED,
                           "uid-mapper serves no streaming methods");

    Ttrpc__Request *req = ttrpc__request__unpack(NULL, m->len, m->data);
    if (!req)
        return reply_error(s, m->stream, TTRPC_INVALID_ARGUMENT,
                           "cannot decode the ttrpc request envelope");

    int rc;
    const struct method *method = NULL;
    for (size_t i = 0; i < sizeof(plugin_methods) / sizeof(plugin_methods[0]); i++)
        if (strcmp(req->method, plugin_methods[i].name) == 0)
            method = &plugin_methods[i];

    if (strcmp(req->service, NRI_PLUGIN_SERVICE) != 0) {
        rc = reply_error(s, m->stream, TTRPC_UNIMPLEMENTED, "service %s", req->service);
    } else if (!method) {
        rc = reply_error(s, m->stream, TTRPC_UNIMPLEMENTED, "method %s/%s",
                         req->service, req->method);
    } else {
        ProtobufCMessage *payload = protobuf_c_message_unpack(
            method->request, NULL, req->payload.len, req->payload.data);
        if (!payload) {
            rc = reply_error(s, m->stream, TTRPC_INVALID_ARGUMENT,
                             "cannot decode the %s request", method->name);
        } else {
            rc = method->serve(s, m->stream, &payload);
            if (payload)
                protobuf_c_message_free_unpacked(payload, NULL);
        }
    }
    ttrpc__request__free_unpacked(req, NULL);
    return rc;
}

static int on_plugin_message(void *ctx, const struct ttrpc_msg *m, struct wire_error *err)
{
    struct nri_session *s = ctx;
    int rc = 0;
    switch (m->type) {
    case TTRPC_REQUEST:
        rc = serve_request(s, m);
        break;
    case TTRPC_DATA: /* we never open streams, so no stream can take data */
        rc = reply_error(s, m->stream, TTRPC_INVALID_ARGUMENT,
                         "stream %u is not active", m->stream);
        break;
    default: /* ttrpc ignores unknown types for forward compatibility */
        log_debug("ignoring ttrpc message of type %u on stream %u", m->type, m->stream);
        break;
    }
    if (rc != 0)
        wire_fail(err, "out of memory queueing a reply");
    return rc;
}

static void on_register_reply(struct nri_session *s, const struct ttrpc_msg *m)
{
    s->register_stream = 0;
    Ttrpc__Response *resp = m->oversized ? NULL
                                         : ttrpc__response__unpack(NULL, m->len, m->data);
    if (!resp) {
        s->refused = true;
        log_error("cannot decode the runtime's reply to RegisterPlugin; "
                  "is this socket an NRI runtime of version v0.10 or later?");
        return;
    }
    if (resp->status && resp->status->code != TTRPC_OK) {
        s->refused = true;
        log_error("the runtime refused registration as %s-%s: %s (status %d); "
                  "check the plugin name and index", s->cfg.idx, s->cfg.name,
                  str_or(resp->status->message, "no reason given"), resp->status->code);
    } else {
        log_info("registered with the runtime as %s-%s", s->cfg.idx, s->cfg.name);
    }
    ttrpc__response__free_unpacked(resp, NULL);
}

static int on_runtime_message(void *ctx, const struct ttrpc_msg *m, struct wire_error *err)
{
    struct nri_session *s = ctx;
    (void)err;
    if (m->type == TTRPC_RESPONSE && m->stream != 0 && m->stream == s->register_stream)
        on_register_reply(s, m);
    else
        log_warn("ignoring unexpected ttrpc message (type %u, stream %u) from the runtime",
                 m->type, m->stream);
    return 0;
}

static int on_mux_slice(void *ctx, uint32_t conn, const uint8_t *data, size_t len,
                        struct wire_error *err)
{
    struct nri_session *s = ctx;
    switch (conn) {
    case MUX_CONN_PLUGIN:
        return ttrpc_feed(&s->plugin_conn, data, len, on_plugin_message, s, err);
    case MUX_CONN_RUNTIME:
        return ttrpc_feed(&s->runtime_conn, data, len, on_runtime_message, s, err);
    default: /* like NRI's mux: data for a conn nobody opened is dropped */
        log_debug("dropping %zu bytes for unknown mux conn %u", len, conn);
        return 0;
    }
}

/* ---- Public ---- */

struct nri_session *nri_session_new(const struct nri_session_config *cfg)
{
    static const struct nri_handlers no_handlers;
    struct nri_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = *cfg;
    if (!s->cfg.handlers)
        s->cfg.handlers = &no_handlers;
    mux_reader_init(&s->mux);
    ttrpc_reader_init(&s->plugin_conn);
    ttrpc_reader_init(&s->runtime_conn);
    s->next_call_stream = 1;
    return s;
}

void nri_session_free(struct nri_session *s)
{
    if (!s)
        return;
    ttrpc_reader_reset(&s->plugin_conn);
    ttrpc_reader_reset(&s->runtime_conn);
    free_sync_parts(s);
    wbuf_free(&s->out);
    free(s);
}

int nri_session_register(struct nri_session *s)
{
    Nri__Pkg__Api__V1alpha1__RegisterPluginRequest req =
        NRI__PKG__API__V1ALPHA1__REGISTER_PLUGIN_REQUEST__INIT;
    req.plugin_name = (char *)s->cfg.name;
    req.plugin_idx = (char *)s->cfg.idx;
    req.nri_version = (char *)NRI_API_VERSION;

    size_t len = protobuf_c_message_get_packed_size(&req.base);
    uint8_t *payload = malloc(len ? len : 1);
    if (!payload)
        return -1;
    protobuf_c_message_pack(&req.base, payload);

    Ttrpc__Request call = TTRPC__REQUEST__INIT;
    call.service = (char *)NRI_RUNTIME_SERVICE;
    call.method = (char *)"RegisterPlugin";
    call.payload.data = payload;
    call.payload.len = len;

    uint32_t stream = s->next_call_stream;
    int rc = queue_message(s, MUX_CONN_RUNTIME, stream, TTRPC_REQUEST, &call.base);
    free(payload);
    if (rc == 0) {
        s->register_stream = stream;
        s->next_call_stream += 2;
        log_info("registering with the runtime as %s-%s", s->cfg.idx, s->cfg.name);
    }
    return rc;
}

int nri_session_feed(struct nri_session *s, const uint8_t *data, size_t len,
                     struct wire_error *err)
{
    return mux_feed(&s->mux, data, len, on_mux_slice, s, err);
}

struct wbuf *nri_session_out(struct nri_session *s) { return &s->out; }

bool nri_session_at_boundary(const struct nri_session *s)
{
    return mux_reader_at_boundary(&s->mux) &&
           ttrpc_reader_at_boundary(&s->plugin_conn) &&
           ttrpc_reader_at_boundary(&s->runtime_conn);
}

bool nri_session_configured(const struct nri_session *s) { return s->configured; }
bool nri_session_shutdown_requested(const struct nri_session *s) { return s->shutdown; }
bool nri_session_refused(const struct nri_session *s) { return s->refused; }
bool nri_session_config_rejected(const struct nri_session *s) { return s->config_rejected; }

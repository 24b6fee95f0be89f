/* The NRI session state machine, driven byte-exactly as a runtime would:
 * registration, configuration, split synchronization, events, and every kind
 * of bad request (answered with an error status, the connection kept). */
#include <stdlib.h>

#include "common/log.h"
#include "test_stub_peer.h"
#include "unit.h"

typedef Nri__Pkg__Api__V1alpha1__PodSandbox pod_t;
typedef Nri__Pkg__Api__V1alpha1__Container ctr_t;

/* What the handlers saw, and how they should behave. */
struct rec {
    int configures, syncs, creates, removed_ctrs, removed_pods;
    char config[128];
    char runtime[64];
    size_t npods, nctrs;
    char ids[256]; /* ids of synchronized pods then containers, space separated */
    char last_ctr[64];
    bool fail_configure, fail_create, add_mount;
    size_t mount_source_len; /* with add_mount: a source path this long */
};

static int h_configure(void *ctx, const char *config, const char *runtime_name,
                       const char *runtime_version, struct nri_error *err)
{
    struct rec *r = ctx;
    r->configures++;
    snprintf(r->config, sizeof(r->config), "%s", config);
    snprintf(r->runtime, sizeof(r->runtime), "%s %s", runtime_name, runtime_version);
    if (r->fail_configure) {
        snprintf(err->msg, sizeof(err->msg), "bad key 'poool'");
        return -1;
    }
    return 0;
}

static int h_synchronize(void *ctx, nri_pod *const *pods, size_t npods,
                         nri_container *const *ctrs, size_t nctrs, struct nri_error *err)
{
    struct rec *r = ctx;
    (void)err;
    r->syncs++;
    r->npods = npods;
    r->nctrs = nctrs;
    r->ids[0] = '\0';
    for (size_t i = 0; i < npods; i++)
        snprintf(r->ids + strlen(r->ids), sizeof(r->ids) - strlen(r->ids), "%s ", pods[i]->id);
    for (size_t i = 0; i < nctrs; i++)
        snprintf(r->ids + strlen(r->ids), sizeof(r->ids) - strlen(r->ids), "%s ", ctrs[i]->id);
    return 0;
}

static int h_create(void *ctx, const nri_pod *pod, const nri_container *ctr,
                    nri_adjustment *adj, struct nri_error *err)
{
    struct rec *r = ctx;
    (void)pod;
    r->creates++;
    snprintf(r->last_ctr, sizeof(r->last_ctr), "%s", ctr->name);
    if (r->fail_create) {
        snprintf(err->msg, sizeof(err->msg), "cannot pin user namespace");
        return -1;
    }
    if (r->add_mount) {
        Nri__Pkg__Api__V1alpha1__Mount *m = malloc(sizeof(*m));
        nri__pkg__api__v1alpha1__mount__init(m);
        m->destination = strdup("/sys");
        m->type = strdup("bind");
        if (r->mount_source_len) {
            m->source = malloc(r->mount_source_len + 1);
            memset(m->source, 'a', r->mount_source_len);
            m->source[r->mount_source_len] = '\0';
        }
        adj->mounts = malloc(sizeof(*adj->mounts));
        adj->mounts[0] = m;
        adj->n_mounts = 1;
    }
    return 0;
}

static void h_remove_ctr(void *ctx, const nri_pod *pod, const nri_container *ctr)
{
    struct rec *r = ctx;
    (void)pod;
    r->removed_ctrs++;
    snprintf(r->last_ctr, sizeof(r->last_ctr), "%s", ctr->name);
}

static void h_remove_pod(void *ctx, const nri_pod *pod)
{
    struct rec *r = ctx;
    (void)pod;
    r->removed_pods++;
}

struct fixture {
    struct rec rec;
    struct nri_handlers handlers;
    struct nri_session *s;
    struct peer peer;
    struct wbuf in;
};

static void setup(struct fixture *f, const char *fallback)
{
    memset(f, 0, sizeof(*f));
    f->handlers = (struct nri_handlers){
        .ctx = &f->rec,
        .configure = h_configure,
        .synchronize = h_synchronize,
        .create_container = h_create,
        .remove_container = h_remove_ctr,
        .remove_pod = h_remove_pod,
    };
    struct nri_session_config cfg = {"uid-mapper", "10", fallback, &f->handlers};
    f->s = nri_session_new(&cfg);
    CHECK(f->s != NULL);
    peer_init(&f->peer);
    CHECK(nri_session_register(f->s) == 0);
}

static void teardown(struct fixture *f)
{
    nri_session_free(f->s);
    peer_free(&f->peer);
    wbuf_free(&f->in);
}

/* Feeds everything queued in f->in (in chunks of `chunk` bytes, 0 = all at
 * once) and decodes what the session answers. Returns the feed status. */
static int exchange_chunked(struct fixture *f, size_t chunk)
{
    int rc = 0;
    size_t n = wbuf_len(&f->in);
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t off = 0; off < n && rc == 0; off += chunk) {
        size_t len = off + chunk > n ? n - off : chunk;
        rc = nri_session_feed(f->s, wbuf_head(&f->in) + off, len, NULL);
    }
    wbuf_consume(&f->in, n);
    struct wbuf *out = nri_session_out(f->s);
    CHECK(peer_read(&f->peer, wbuf_head(out), wbuf_len(out)) == 0);
    wbuf_consume(out, wbuf_len(out));
    return rc;
}

static int exchange(struct fixture *f) { return exchange_chunked(f, 0); }

static void configure(struct fixture *f, uint32_t stream, const char *config)
{
    Nri__Pkg__Api__V1alpha1__ConfigureRequest req = NRI__PKG__API__V1ALPHA1__CONFIGURE_REQUEST__INIT;
    req.config = (char *)config;
    req.runtime_name = (char *)"containerd";
    req.runtime_version = (char *)"v2.3.4";
    peer_call(&f->in, stream, "Configure", &req.base);
}

TEST(registers_with_name_and_index)
{
    struct fixture f;
    setup(&f, NULL);
    CHECK(exchange(&f) == 0);
    CHECK_EQ_U(f.peer.n, 1);
    const struct peer_msg *m = &f.peer.msgs[0];
    CHECK_EQ_U(m->conn, MUX_CONN_RUNTIME);
    CHECK_EQ_U(m->stream, 1);
    CHECK(m->req != NULL);
    if (m->req) {
        CHECK_STR(m->req->service, "nri.pkg.api.v1alpha1.Runtime");
        CHECK_STR(m->req->method, "RegisterPlugin");
        Nri__Pkg__Api__V1alpha1__RegisterPluginRequest *r =
            nri__pkg__api__v1alpha1__register_plugin_request__unpack(
                NULL, m->req->payload.len, m->req->payload.data);
        CHECK(r != NULL);
        if (r) {
            CHECK_STR(r->plugin_name, "uid-mapper");
            CHECK_STR(r->plugin_idx, "10");
            nri__pkg__api__v1alpha1__register_plugin_request__free_unpacked(r, NULL);
        }
    }
    peer_answer_register(&f.in, 1, 0, NULL);
    CHECK(exchange(&f) == 0);
    CHECK(!nri_session_refused(f.s));
    teardown(&f);
}

TEST(refused_registration_is_reported)
{
    struct fixture f;
    setup(&f, NULL);
    peer_answer_register(&f.in, 1, TTRPC_UNKNOWN, "invalid plugin index");
    CHECK(exchange(&f) == 0);
    CHECK(nri_session_refused(f.s));
    teardown(&f);
}

TEST(configure_subscribes_and_passes_the_config)
{
    static const struct {
        const char *runtime_config, *fallback, *want;
    } cases[] = {
        {"pool: 0-2047\n", NULL, "pool: 0-2047\n"},
        {"pool: 0-2047\n", "pool: 0-99\n", "pool: 0-2047\n"}, /* runtime's wins */
        {"", "pool: 0-99\n", "pool: 0-99\n"},                 /* else the file */
        {"", NULL, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fixture f;
        setup(&f, cases[i].fallback);
        configure(&f, 1, cases[i].runtime_config);
        CHECK(exchange(&f) == 0);
        const struct peer_msg *m = peer_reply(&f.peer, 1);
        CHECK_EQ_U(peer_status(m), 0);
        CHECK_EQ_U(f.rec.configures, 1);
        CHECK_STR(f.rec.config, cases[i].want);
        CHECK_STR(f.rec.runtime, "containerd v2.3.4");
        CHECK(nri_session_configured(f.s));
        if (m) {
            Nri__Pkg__Api__V1alpha1__ConfigureResponse *r =
                nri__pkg__api__v1alpha1__configure_response__unpack(
                    NULL, m->resp->payload.len, m->resp->payload.data);
            CHECK(r != NULL);
            /* StopPodSandbox(2), RemovePodSandbox(3), CreateContainer(4),
             * RemoveContainer(11): bit 1 << (event - 1) each. */
            if (r)
                CHECK_EQ_U(r->events, (1 << 1) | (1 << 2) | (1 << 3) | (1 << 10));
            nri__pkg__api__v1alpha1__configure_response__free_unpacked(r, NULL);
        }
        teardown(&f);
    }
}

TEST(rejected_configuration_fails_configure)
{
    struct fixture f;
    setup(&f, NULL);
    f.rec.fail_configure = true;
    configure(&f, 1, "poool: 1");
    CHECK(exchange(&f) == 0);
    const struct peer_msg *m = peer_reply(&f.peer, 1);
    CHECK_EQ_U(peer_status(m), TTRPC_INVALID_ARGUMENT);
    if (m)
        CHECK_STR(m->resp->status->message, "bad key 'poool'");
    CHECK(nri_session_config_rejected(f.s));
    CHECK(!nri_session_configured(f.s));
    teardown(&f);
}

static pod_t *new_pod(const char *id)
{
    pod_t *p = malloc(sizeof(*p));
    nri__pkg__api__v1alpha1__pod_sandbox__init(p);
    p->id = (char *)id;
    p->name = (char *)"web";
    p->namespace_ = (char *)"team-a";
    return p;
}

static ctr_t *new_ctr(const char *id, const char *name)
{
    ctr_t *c = malloc(sizeof(*c));
    nri__pkg__api__v1alpha1__container__init(c);
    c->id = (char *)id;
    c->name = (char *)name;
    return c;
}

/* Sends one Synchronize part with the given pods/containers. */
static void sync_part(struct fixture *f, uint32_t stream, const char *pod_id,
                      const char *ctr_id, bool more)
{
    Nri__Pkg__Api__V1alpha1__SynchronizeRequest req =
        NRI__PKG__API__V1ALPHA1__SYNCHRONIZE_REQUEST__INIT;
    pod_t *pod = pod_id ? new_pod(pod_id) : NULL;
    ctr_t *ctr = ctr_id ? new_ctr(ctr_id, "app") : NULL;
    req.pods = &pod;
    req.n_pods = pod ? 1 : 0;
    req.containers = &ctr;
    req.n_containers = ctr ? 1 : 0;
    req.more = more;
    peer_call(&f->in, stream, "Synchronize", &req.base);
    free(pod);
    free(ctr);
}

static bool sync_reply_more(const struct peer_msg *m)
{
    Nri__Pkg__Api__V1alpha1__SynchronizeResponse *r =
        nri__pkg__api__v1alpha1__synchronize_response__unpack(
            NULL, m->resp->payload.len, m->resp->payload.data);
    bool more = r && r->more;
    CHECK(r != NULL && r->n_update == 0);
    nri__pkg__api__v1alpha1__synchronize_response__free_unpacked(r, NULL);
    return more;
}

TEST(split_synchronize_is_delivered_once_complete)
{
    struct fixture f;
    setup(&f, NULL);
    sync_part(&f, 1, "p1", "c1", true);
    sync_part(&f, 3, "p2", NULL, true);
    CHECK(exchange(&f) == 0);
    CHECK_EQ_U(f.rec.syncs, 0); /* nothing until the last part */
    for (uint32_t stream = 1; stream <= 3; stream += 2) {
        const struct peer_msg *m = peer_reply(&f.peer, stream);
        CHECK_EQ_U(peer_status(m), 0);
        if (m)
            CHECK(sync_reply_more(m)); /* the runtime requires the echo */
    }
    sync_part(&f, 5, NULL, "c2", false);
    CHECK(exchange(&f) == 0);
    CHECK_EQ_U(f.rec.syncs, 1);
    CHECK_EQ_U(f.rec.npods, 2);
    CHECK_EQ_U(f.rec.nctrs, 2);
    CHECK_STR(f.rec.ids, "p1 p2 c1 c2 ");
    const struct peer_msg *m = peer_reply(&f.peer, 5);
    CHECK_EQ_U(peer_status(m), 0);
    if (m)
        CHECK(!sync_reply_more(m));
    teardown(&f);
}

static void create(struct fixture *f, uint32_t stream, const char *name)
{
    Nri__Pkg__Api__V1alpha1__CreateContainerRequest req =
        NRI__PKG__API__V1ALPHA1__CREATE_CONTAINER_REQUEST__INIT;
    req.pod = new_pod("p1");
    req.container = new_ctr("0123456789abcdef", name);
    peer_call(&f->in, stream, "CreateContainer", &req.base);
    free(req.pod);
    free(req.container);
}

TEST(create_container_returns_the_handlers_adjustment)
{
    struct fixture f;
    setup(&f, NULL);
    f.rec.add_mount = true;
    create(&f, 1, "nginx");
    CHECK(exchange(&f) == 0);
    CHECK_EQ_U(f.rec.creates, 1);
    CHECK_STR(f.rec.last_ctr, "nginx");
    const struct peer_msg *m = peer_reply(&f.peer, 1);
    CHECK_EQ_U(peer_status(m), 0);
    if (m) {
        Nri__Pkg__Api__V1alpha1__CreateContainerResponse *r =
            nri__pkg__api__v1alpha1__create_container_response__unpack(
                NULL, m->resp->payload.len, m->resp->payload.data);
        CHECK(r && r->adjust && r->adjust->n_mounts == 1);
        if (r && r->adjust && r->adjust->n_mounts == 1)
            CHECK_STR(r->adjust->mounts[0]->destination, "/sys");
        nri__pkg__api__v1alpha1__create_container_response__free_unpacked(r, NULL);
    }
    teardown(&f);
}

TEST(reply_over_the_message_limit_becomes_resource_exhausted)
{
    struct fixture f;
    setup(&f, NULL);
    f.rec.add_mount = true;
    f.rec.mount_source_len = TTRPC_MAX_MESSAGE;
    create(&f, 1, "nginx");
    CHECK(exchange(&f) == 0);
    f.rec.mount_source_len = 0;
    create(&f, 3, "nginx"); /* the connection still serves */
    CHECK(exchange(&f) == 0);
    CHECK_EQ_U(peer_status(peer_reply(&f.peer, 1)), TTRPC_RESOURCE_EXHAUSTED);
    CHECK_EQ_U(peer_status(peer_reply(&f.peer, 3)), TTRPC_OK);
    teardown(&f);
}

TEST(create_container_failure_carries_the_reason)
{
    struct fixture f;
    setup(&f, NULL);
    f.rec.fail_create = true;
    create(&f, 1, "nginx");
    CHECK(exchange(&f) == 0);
    const struct peer_msg *m = peer_reply(&f.peer, 1);
    CHECK_EQ_U(peer_status(m), TTRPC_UNKNOWN);
    if (m)
        CHECK_STR(m->resp->status->message, "cannot pin user namespace");
    teardown(&f);
}

TEST(unknown_fields_from_newer_runtimes_are_ignored)
{
    /* CreateContainerRequest{pod{id "p1", field 77 varint 5},
     * container{name "app", field 99 "new!"}, field 50 "z"}: fields 77, 99
     * and 50 are not in our subset. */
    static const uint8_t fixed[] = {
        0x0a, 0x07, 0x0a, 0x02, 'p', '1', 0xe8, 0x04, 0x05,
        0x12, 0x0c, 0x1a, 0x03, 'a', 'p', 'p', 0x9a, 0x06, 0x04, 'n', 'e', 'w', '!',
        0x92, 0x03, 0x01, 'z',
    };
    struct fixture f;
    setup(&f, NULL);
    peer_call_raw(&f.in, 1, NRI_PLUGIN_SERVICE, "CreateContainer", fixed, sizeof(fixed));
    CHECK(exchange(&f) == 0);
    CHECK_EQ_U(peer_status(peer_reply(&f.peer, 1)), 0);
    CHECK_EQ_U(f.rec.creates, 1);
    CHECK_STR(f.rec.last_ctr, "app");
    teardown(&f);
}

TEST(removal_events_reach_the_handlers)
{
    struct fixture f;
    setup(&f, NULL);
    Nri__Pkg__Api__V1alpha1__ContainerRequest cr = NRI__PKG__API__V1ALPHA1__CONTAINER_REQUEST__INIT;
    Nri__Pkg__Api__V1alpha1__PodSandboxRequest pr = NRI__PKG__API__V1ALPHA1__POD_SANDBOX_REQUEST__INIT;
    Nri__Pkg__Api__V1alpha1__StateChangeEvent ev = NRI__PKG__API__V1ALPHA1__STATE_CHANGE_EVENT__INIT;
    cr.pod = pr.pod = ev.pod = new_pod("p1");
    cr.container = ev.container = new_ctr("c1", "sidecar");
    peer_call(&f.in, 1, "RemoveContainer", &cr.base);
    peer_call(&f.in, 3, "StopPodSandbox", &pr.base);
    peer_call(&f.in, 5, "RemovePodSandbox", &pr.base);
    ev.event = NRI__PKG__API__V1ALPHA1__EVENT__REMOVE_CONTAINER; /* older runtimes */
    peer_call(&f.in, 7, "StateChange", &ev.base);
    ev.event = NRI__PKG__API__V1ALPHA1__EVENT__REMOVE_POD_SANDBOX;
    peer_call(&f.in, 9, "StateChange", &ev.base);
    ev.event = NRI__PKG__API__V1ALPHA1__EVENT__START_CONTAINER; /* not subscribed */
    peer_call(&f.in, 11, "StateChange", &ev.base);
    free(cr.pod);
    free(cr.container);
    CHECK(exchange(&f) == 0);
    for (uint32_t stream = 1; stream <= 11; stream += 2)
        CHECK_EQ_U(peer_status(peer_reply(&f.peer, stream)), 0);
    CHECK_EQ_U(f.rec.removed_ctrs, 2);
    CHECK_EQ_U(f.rec.removed_pods, 3);
    CHECK_STR(f.rec.last_ctr, "sidecar");
    teardown(&f);
}

TEST(shutdown_is_acknowledged)
{
    struct fixture f;
    setup(&f, NULL);
    peer_call_raw(&f.in, 1, NRI_PLUGIN_SERVICE, "Shutdown", "", 0);
    CHECK(exchange(&f) == 0);
    CHECK_EQ_U(peer_status(peer_reply(&f.peer, 1)), 0);
    CHECK(nri_session_shutdown_requested(f.s));
    teardown(&f);
}

/* Every bad request gets its status and the next request is still served. */
TEST(bad_requests_get_a_status_and_the_connection_stays_up)
{
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x42};
    static const uint8_t truncated_field[] = {0x0a, 0x20, 'p'}; /* len 32, 1 byte */
    struct fixture f;
    setup(&f, NULL);
    peer_call_raw(&f.in, 1, NRI_PLUGIN_SERVICE, "UpdateContainer", "", 0);
    peer_call_raw(&f.in, 3, "nri.pkg.api.v1alpha1.Other", "Configure", "", 0);
    peer_call_raw(&f.in, 5, NRI_PLUGIN_SERVICE, "CreateContainer", garbage, sizeof(garbage));
    peer_call_raw(&f.in, 7, NRI_PLUGIN_SERVICE, "Synchronize", truncated_field,
                  sizeof(truncated_field));
    peer_put_raw(&f.in, MUX_CONN_PLUGIN, 9, TTRPC_REQUEST, 0, garbage, sizeof(garbage));
    peer_call_raw(&f.in, 10, NRI_PLUGIN_SERVICE, "Shutdown", "", 0); /* even id */
    peer_call_raw(&f.in, 9, NRI_PLUGIN_SERVICE, "Shutdown", "", 0);  /* reused id */
    peer_put_raw(&f.in, MUX_CONN_PLUGIN, 13, TTRPC_REQUEST, TTRPC_FLAG_REMOTE_OPEN, "", 0);
    peer_put_raw(&f.in, MUX_CONN_PLUGIN, 15, TTRPC_DATA, 0, "x", 1);
    peer_put_raw(&f.in, MUX_CONN_PLUGIN, 17, 0x42, 0, "x", 1); /* unknown type: ignored */
    /* An empty CreateContainerRequest: valid protobuf, but no pod. */
    peer_call_raw(&f.in, 19, NRI_PLUGIN_SERVICE, "CreateContainer", "", 0);
    peer_put_raw(&f.in, 7, 1, TTRPC_REQUEST, 0, "zz", 2); /* unopened mux conn */
    configure(&f, 21, "");
    CHECK(exchange(&f) == 0);

    static const struct {
        uint32_t stream;
        int code;
    } want[] = {
        {1, TTRPC_UNIMPLEMENTED},      {3, TTRPC_UNIMPLEMENTED},
        {5, TTRPC_INVALID_ARGUMENT},   {7, TTRPC_INVALID_ARGUMENT},
        {9, TTRPC_INVALID_ARGUMENT},   {10, TTRPC_INVALID_ARGUMENT},
        {13, TTRPC_UNIMPLEMENTED},     {15, TTRPC_INVALID_ARGUMENT},
        {17, -1},                      {19, TTRPC_INVALID_ARGUMENT},
        {21, TTRPC_OK},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int got = peer_status(peer_reply(&f.peer, want[i].stream));
        if (got != want[i].code)
            fprintf(stderr, "  stream %u: status %d, want %d\n", want[i].stream, got,
                    want[i].code);
        CHECK(got == want[i].code);
    }
    /* The reused id 9 got a second, InvalidArgument reply. */
    int replies_on_9 = 0;
    for (int i = 0; i < f.peer.n; i++)
        replies_on_9 += f.peer.msgs[i].conn == MUX_CONN_PLUGIN && f.peer.msgs[i].stream == 9;
    CHECK_EQ_U(replies_on_9, 2);
    CHECK(!nri_session_shutdown_requested(f.s));
    CHECK(nri_session_configured(f.s));
    CHECK_EQ_U(f.rec.creates, 0);
    CHECK_EQ_U(f.rec.syncs, 0);
    teardown(&f);
}

TEST(oversized_request_gets_resource_exhausted)
{
    struct fixture f;
    setup(&f, NULL);
    /* A 4 MiB + 1 request spread over mux frames (each within the limit). */
    uint32_t len = TTRPC_MAX_MESSAGE + 1;
    uint8_t hdr[TTRPC_HEADER_LEN];
    ttrpc_put_header(hdr, len, 1, TTRPC_REQUEST, 0);
    uint8_t *body = calloc(1, TTRPC_HEADER_LEN + len);
    memcpy(body, hdr, sizeof(hdr));
    for (size_t off = 0, total = TTRPC_HEADER_LEN + len; off < total;) {
        size_t take = total - off > MUX_MAX_PAYLOAD ? MUX_MAX_PAYLOAD : total - off;
        uint8_t mh[MUX_HEADER_LEN];
        mux_put_header(mh, MUX_CONN_PLUGIN, (uint32_t)take);
        wbuf_append(&f.in, mh, sizeof(mh));
        wbuf_append(&f.in, body + off, take);
        off += take;
    }
    free(body);
    configure(&f, 3, "");
    CHECK(exchange_chunked(&f, 1 << 16) == 0);
    CHECK_EQ_U(peer_status(peer_reply(&f.peer, 1)), TTRPC_RESOURCE_EXHAUSTED);
    CHECK_EQ_U(peer_status(peer_reply(&f.peer, 3)), TTRPC_OK);
    teardown(&f);
}

TEST(oversized_mux_frame_ends_the_session)
{
    struct fixture f;
    setup(&f, NULL);
    uint8_t mh[MUX_HEADER_LEN];
    mux_put_header(mh, MUX_CONN_PLUGIN, MUX_MAX_PAYLOAD + 1);
    wbuf_append(&f.in, mh, sizeof(mh));
    struct wire_error err = {{0}};
    CHECK(nri_session_feed(f.s, wbuf_head(&f.in), wbuf_len(&f.in), &err) == -1);
    CHECK(strstr(err.msg, "maximum") != NULL);
    teardown(&f);
}

/* A whole conversation fed one byte at a time, or in odd chunks, gives the
 * same answers as fed at once. */
TEST(conversation_is_independent_of_chunking)
{
    static const size_t chunks[] = {0, 1, 2, 3, 7, 13, 64};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct fixture f;
        setup(&f, NULL);
        peer_answer_register(&f.in, 1, 0, NULL);
        configure(&f, 1, "x: 1");
        sync_part(&f, 3, "p1", NULL, true);
        sync_part(&f, 5, NULL, "c1", false);
        create(&f, 7, "nginx");
        peer_call_raw(&f.in, 9, NRI_PLUGIN_SERVICE, "Nope", "", 0);
        CHECK(exchange_chunked(&f, chunks[i]) == 0);
        CHECK(nri_session_at_boundary(f.s));
        CHECK_EQ_U(f.rec.configures, 1);
        CHECK_EQ_U(f.rec.syncs, 1);
        CHECK_STR(f.rec.ids, "p1 c1 ");
        CHECK_EQ_U(f.rec.creates, 1);
        CHECK_EQ_U(peer_status(peer_reply(&f.peer, 9)), TTRPC_UNIMPLEMENTED);
        CHECK_EQ_U(f.peer.n, 6); /* register call + 5 replies */
        teardown(&f);
    }
}

int main(void)
{
    log_set_level(LOG_LVL_ERROR); /* the bad-input tests warn on purpose */
    RUN(registers_with_name_and_index);
    RUN(refused_registration_is_reported);
    RUN(configure_subscribes_and_passes_the_config);
    RUN(rejected_configuration_fails_configure);
    RUN(split_synchronize_is_delivered_once_complete);
    RUN(create_container_returns_the_handlers_adjustment);
    RUN(reply_over_the_message_limit_becomes_resource_exhausted);
    RUN(create_container_failure_carries_the_reason);
    RUN(unknown_fields_from_newer_runtimes_are_ignored);
    RUN(removal_events_reach_the_handlers);
    RUN(shutdown_is_acknowledged);
    RUN(bad_requests_get_a_status_and_the_connection_stays_up);
    RUN(oversized_request_gets_resource_exhausted);
    RUN(oversized_mux_frame_ends_the_session);
    RUN(conversation_is_independent_of_chunking);
    return unit_done();
}

/* The runtime's side of an NRI connection, for the stub tests: builds the
 * frames a runtime sends and decodes what the plugin sends back. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nri.pb-c.h"
#include "ttrpc.pb-c.h"
#include "wire/mux.h"
#include "wire/session.h"
#include "wire/ttrpc.h"
#include "wire/wbuf.h"

#define PEER_MAX_MSGS 64

struct peer_msg {
    uint32_t conn, stream;
    uint8_t type;
    Ttrpc__Request *req;   /* type request (the plugin's calls) */
    Ttrpc__Response *resp; /* type response (the plugin's replies) */
};

struct peer {
    struct mux_reader mux;
    struct ttrpc_reader conn[2];
    struct peer_msg msgs[PEER_MAX_MSGS];
    int n;
};

static inline void peer_init(struct peer *p)
{
    memset(p, 0, sizeof(*p));
    mux_reader_init(&p->mux);
    ttrpc_reader_init(&p->conn[0]);
    ttrpc_reader_init(&p->conn[1]);
}

static inline void peer_free(struct peer *p)
{
    for (int i = 0; i < p->n; i++) {
        if (p->msgs[i].req)
            ttrpc__request__free_unpacked(p->msgs[i].req, NULL);
        if (p->msgs[i].resp)
            ttrpc__response__free_unpacked(p->msgs[i].resp, NULL);
    }
    ttrpc_reader_reset(&p->conn[0]);
    ttrpc_reader_reset(&p->conn[1]);
    memset(p, 0, sizeof(*p));
}

struct peer_conn_ctx {
    struct peer *p;
    uint32_t conn;
};

static inline int peer_on_msg(void *ctx, const struct ttrpc_msg *m, struct wire_error *err)
{
    struct peer_conn_ctx *c = ctx;
    struct peer *p = c->p;
    if (p->n == PEER_MAX_MSGS) {
        wire_fail(err, "peer: too many messages");
        return -1;
    }
    struct peer_msg *pm = &p->msgs[p->n++];
    *pm = (struct peer_msg){.conn = c->conn, .stream = m->stream, .type = m->type};
    if (m->type == TTRPC_REQUEST)
        pm->req = ttrpc__request__unpack(NULL, m->len, m->data);
    else if (m->type == TTRPC_RESPONSE)
        pm->resp = ttrpc__response__unpack(NULL, m->len, m->data);
    if (!pm->req && !pm->resp) {
        wire_fail(err, "peer: undecodable message from the plugin");
        return -1;
    }
    return 0;
}

static inline int peer_on_slice(void *ctx, uint32_t conn, const uint8_t *data, size_t len,
                                struct wire_error *err)
{
    struct peer_conn_ctx c = {ctx, conn};
    if (conn != MUX_CONN_PLUGIN && conn != MUX_CONN_RUNTIME) {
        wire_fail(err, "peer: the plugin wrote to conn %u", conn);
        return -1;
    }
    return ttrpc_feed(&c.p->conn[conn - 1], data, len, peer_on_msg, &c, err);
}

/* Decodes bytes the plugin sent. 0, or -1 when they are malformed. */
static inline int peer_read(struct peer *p, const uint8_t *data, size_t len)
{
    struct wire_error err = {{0}};
    int rc = mux_feed(&p->mux, data, len, peer_on_slice, p, &err);
    if (rc)
        fprintf(stderr, "  peer: %s\n", err.msg);
    return rc;
}

/* Appends one ttrpc message with a raw payload in one mux frame. */
static inline void peer_put_raw(struct wbuf *w, uint32_t conn, uint32_t stream, uint8_t type,
                                uint8_t flags, const void *payload, size_t len)
{
    uint8_t hdr[MUX_HEADER_LEN + TTRPC_HEADER_LEN];
    mux_put_header(hdr, conn, (uint32_t)(TTRPC_HEADER_LEN + len));
    ttrpc_put_header(hdr + MUX_HEADER_LEN, (uint32_t)len, stream, type, flags);
    wbuf_append(w, hdr, sizeof(hdr));
    wbuf_append(w, payload, len);
}

static inline void peer_put_envelope(struct wbuf *w, uint32_t conn, uint32_t stream,
                                     uint8_t type, const ProtobufCMessage *env)
{
    size_t len = protobuf_c_message_get_packed_size(env);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(env, buf);
    peer_put_raw(w, conn, stream, type, 0, buf, len);
    free(buf);
}

/* A Plugin-service request with a raw (possibly garbage) payload. */
static inline void peer_call_raw(struct wbuf *w, uint32_t stream, const char *service,
                                 const char *method, const void *payload, size_t len)
{
    Ttrpc__Request req = TTRPC__REQUEST__INIT;
    req.service = (char *)service;
    req.method = (char *)method;
    req.payload.data = (uint8_t *)payload;
    req.payload.len = len;
    peer_put_envelope(w, MUX_CONN_PLUGIN, stream, TTRPC_REQUEST, &req.base);
}

static inline void peer_call(struct wbuf *w, uint32_t stream, const char *method,
                             const ProtobufCMessage *payload)
{
    size_t len = protobuf_c_message_get_packed_size(payload);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(payload, buf);
    peer_call_raw(w, stream, NRI_PLUGIN_SERVICE, method, buf, len);
    free(buf);
}

/* The runtime's answer to the plugin's RegisterPlugin call. */
static inline void peer_answer_register(struct wbuf *w, uint32_t stream, int code,
                                        const char *msg)
{
    Ttrpc__Status st = TTRPC__STATUS__INIT;
    Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
    if (code) {
        st.code = code;
        st.message = (char *)msg;
        resp.status = &st;
    }
    peer_put_envelope(w, MUX_CONN_RUNTIME, stream, TTRPC_RESPONSE, &resp.base);
}

/* The plugin's latest reply on a stream, or NULL. */
static inline const struct peer_msg *peer_reply(const struct peer *p, uint32_t stream)
{
    for (int i = p->n - 1; i >= 0; i--)
        if (p->msgs[i].conn == MUX_CONN_PLUGIN && p->msgs[i].stream == stream &&
            p->msgs[i].resp)
            return &p->msgs[i];
    return NULL;
}

static inline int peer_status(const struct peer_msg *m)
{
    return !m ? -1 : m->resp->status ? m->resp->status->code : 0;
}

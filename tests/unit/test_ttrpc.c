/* ttrpc framing: messages reassembled from any chunking, also spread over
 * interleaved mux frames of two conns; oversized messages skipped in sync. */
#include <stdlib.h>

#include "unit.h"
#include "wire/mux.h"
#include "wire/ttrpc.h"

struct got {
    uint32_t stream;
    uint8_t type, flags;
    bool oversized;
    uint32_t len;
    char data[64];
};

struct sink {
    struct got msgs[16];
    int n;
    int fail_at; /* fail on this message (1-based; 0: never) */
};

static int collect(void *ctx, const struct ttrpc_msg *m, struct wire_error *err)
{
    struct sink *s = ctx;
    if (s->n + 1 == s->fail_at) {
        wire_fail(err, "refused message %d", s->n + 1);
        return -1;
    }
    if (s->n == 16)
        return -1;
    struct got *g = &s->msgs[s->n++];
    *g = (struct got){m->stream, m->type, m->flags, m->oversized, m->len, {0}};
    if (m->data)
        memcpy(g->data, m->data, m->len < sizeof(g->data) - 1 ? m->len : sizeof(g->data) - 1);
    return 0;
}

static const struct {
    uint32_t stream;
    uint8_t type, flags;
    const char *payload;
} msgs[] = {
    {1, TTRPC_REQUEST, 0, "configure"},
    {3, TTRPC_REQUEST, TTRPC_FLAG_REMOTE_OPEN, ""},
    {2, TTRPC_RESPONSE, 0, "ok"},
    {5, TTRPC_DATA, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, ""},
    {7, 0x7f, 0xff, "future type"},
};
#define NMSGS (sizeof(msgs) / sizeof(msgs[0]))

static size_t put_msg(uint8_t *buf, size_t i)
{
    size_t len = strlen(msgs[i].payload);
    ttrpc_put_header(buf, (uint32_t)len, msgs[i].stream, msgs[i].type, msgs[i].flags);
    memcpy(buf + TTRPC_HEADER_LEN, msgs[i].payload, len);
    return TTRPC_HEADER_LEN + len;
}

static size_t build_stream(uint8_t *buf)
{
    size_t n = 0;
    for (size_t i = 0; i < NMSGS; i++)
        n += put_msg(buf + n, i);
    return n;
}

static void check_all(const struct sink *s)
{
    CHECK_EQ_U(s->n, NMSGS);
    for (size_t i = 0; i < NMSGS && (int)i < s->n; i++) {
        CHECK_EQ_U(s->msgs[i].stream, msgs[i].stream);
        CHECK_EQ_U(s->msgs[i].type, msgs[i].type);
        CHECK_EQ_U(s->msgs[i].flags, msgs[i].flags);
        CHECK_EQ_U(s->msgs[i].len, strlen(msgs[i].payload));
        CHECK(!s->msgs[i].oversized);
        CHECK_STR(s->msgs[i].data, msgs[i].payload);
    }
}

TEST(every_chunk_size_gives_the_same_messages)
{
    uint8_t buf[512];
    size_t n = build_stream(buf);
    for (size_t chunk = 1; chunk <= n; chunk++) {
        struct ttrpc_reader r;
        struct sink s = {0};
        ttrpc_reader_init(&r);
        for (size_t off = 0; off < n; off += chunk) {
            size_t len = off + chunk > n ? n - off : chunk;
            CHECK(ttrpc_feed(&r, buf + off, len, collect, &s, NULL) == 0);
        }
        check_all(&s);
        CHECK(ttrpc_reader_at_boundary(&r));
        ttrpc_reader_reset(&r);
    }
}

TEST(every_two_way_split_gives_the_same_messages)
{
    uint8_t buf[512];
    size_t n = build_stream(buf);
    for (size_t cut = 0; cut <= n; cut++) {
        struct ttrpc_reader r;
        struct sink s = {0};
        ttrpc_reader_init(&r);
        CHECK(ttrpc_feed(&r, buf, cut, collect, &s, NULL) == 0);
        CHECK(ttrpc_feed(&r, buf + cut, n - cut, collect, &s, NULL) == 0);
        check_all(&s);
        ttrpc_reader_reset(&r);
    }
}

TEST(truncated_message_is_held_back)
{
    uint8_t buf[512];
    size_t n = put_msg(buf, 0);
    for (size_t cut = 1; cut < n; cut++) {
        struct ttrpc_reader r;
        struct sink s = {0};
        ttrpc_reader_init(&r);
        CHECK(ttrpc_feed(&r, buf, cut, collect, &s, NULL) == 0);
        CHECK_EQ_U(s.n, 0);
        CHECK(!ttrpc_reader_at_boundary(&r));
        ttrpc_reader_reset(&r); /* frees the partial body: ASan checks */
    }
}

/* Feeds a header announcing len bytes, len filler bytes in 64 KiB chunks,
 * then one small message; returns what the sink saw. */
static void feed_big(uint32_t len, struct sink *s)
{
    static uint8_t filler[65536];
    uint8_t hdr[TTRPC_HEADER_LEN], tail[64];
    struct ttrpc_reader r;
    ttrpc_reader_init(&r);
    ttrpc_put_header(hdr, len, 9, TTRPC_REQUEST, 0);
    CHECK(ttrpc_feed(&r, hdr, sizeof(hdr), collect, s, NULL) == 0);
    for (uint32_t left = len; left > 0;) {
        uint32_t take = left < sizeof(filler) ? left : sizeof(filler);
        CHECK(ttrpc_feed(&r, filler, take, collect, s, NULL) == 0);
        left -= take;
    }
    CHECK(ttrpc_feed(&r, tail, put_msg(tail, 0), collect, s, NULL) == 0);
    CHECK(ttrpc_reader_at_boundary(&r));
    ttrpc_reader_reset(&r);
}

TEST(message_at_the_limit_is_delivered)
{
    struct sink s = {0};
    feed_big(TTRPC_MAX_MESSAGE, &s);
    CHECK_EQ_U(s.n, 2);
    CHECK(!s.msgs[0].oversized);
    CHECK_EQ_U(s.msgs[0].len, TTRPC_MAX_MESSAGE);
    CHECK_STR(s.msgs[1].data, "configure");
}

TEST(oversized_message_is_skipped_and_reported)
{
    struct sink s = {0};
    feed_big(TTRPC_MAX_MESSAGE + 1, &s);
    CHECK_EQ_U(s.n, 2);
    CHECK(s.msgs[0].oversized);
    CHECK_EQ_U(s.msgs[0].stream, 9);
    CHECK_EQ_U(s.msgs[0].len, TTRPC_MAX_MESSAGE + 1);
    CHECK_STR(s.msgs[0].data, ""); /* no payload handed out */
    CHECK_STR(s.msgs[1].data, "configure"); /* still in sync */
}

TEST(callback_failure_stops_the_feed)
{
    uint8_t buf[512];
    size_t n = build_stream(buf);
    struct ttrpc_reader r;
    struct sink s = {.fail_at = 2};
    struct wire_error err = {{0}};
    ttrpc_reader_init(&r);
    CHECK(ttrpc_feed(&r, buf, n, collect, &s, &err) == -1);
    CHECK_STR(err.msg, "refused message 2");
    CHECK_EQ_U(s.n, 1);
    ttrpc_reader_reset(&r);
}

/* Two conns, each carrying a ttrpc stream, with every message of conn 1
 * spread over several mux frames interleaved with conn 2's frames. */
struct two_conns {
    struct ttrpc_reader r[2];
    struct sink s[2];
};

static int demux(void *ctx, uint32_t conn, const uint8_t *data, size_t len,
                 struct wire_error *err)
{
    struct two_conns *t = ctx;
    if (conn != 1 && conn != 2)
        return 0;
    return ttrpc_feed(&t->r[conn - 1], data, len, collect, &t->s[conn - 1], err);
}

TEST(interleaved_conns_reassemble_independently)
{
    uint8_t ttrpc1[512], ttrpc2[512], wire[4096];
    size_t n1 = build_stream(ttrpc1), n2 = build_stream(ttrpc2), n = 0;
    /* Frames of 1..7 bytes alternating between the conns, with a frame for
     * an unopened conn and empty frames in between. */
    size_t o1 = 0, o2 = 0, k = 0;
    while (o1 < n1 || o2 < n2) {
        size_t step = 1 + k++ % 7;
        size_t t1 = o1 + step > n1 ? n1 - o1 : step;
        mux_put_header(wire + n, 1, (uint32_t)t1);
        memcpy(wire + n + MUX_HEADER_LEN, ttrpc1 + o1, t1);
        n += MUX_HEADER_LEN + t1, o1 += t1;
        mux_put_header(wire + n, 5, 1);
        wire[n + MUX_HEADER_LEN] = 0xee;
        n += MUX_HEADER_LEN + 1;
        size_t t2 = o2 + step + 2 > n2 ? n2 - o2 : step + 2;
        mux_put_header(wire + n, 2, (uint32_t)t2);
        memcpy(wire + n + MUX_HEADER_LEN, ttrpc2 + o2, t2);
        n += MUX_HEADER_LEN + t2, o2 += t2;
    }
    CHECK(n <= sizeof(wire));
    for (size_t chunk = 1; chunk <= 64; chunk++) {
        struct two_conns t = {0};
        struct mux_reader m;
        mux_reader_init(&m);
        ttrpc_reader_init(&t.r[0]);
        ttrpc_reader_init(&t.r[1]);
        for (size_t off = 0; off < n; off += chunk) {
            size_t len = off + chunk > n ? n - off : chunk;
            CHECK(mux_feed(&m, wire + off, len, demux, &t, NULL) == 0);
        }
        check_all(&t.s[0]);
        check_all(&t.s[1]);
        ttrpc_reader_reset(&t.r[0]);
        ttrpc_reader_reset(&t.r[1]);
    }
}

TEST(header_layout)
{
    uint8_t hdr[TTRPC_HEADER_LEN];
    ttrpc_put_header(hdr, 0x0102, 0x0305, TTRPC_RESPONSE, TTRPC_FLAG_NO_DATA);
    static const uint8_t want[] = {0, 0, 1, 2, 0, 0, 3, 5, 2, 4};
    CHECK(memcmp(hdr, want, sizeof(want)) == 0);
}

int main(void)
{
    RUN(every_chunk_size_gives_the_same_messages);
    RUN(every_two_way_split_gives_the_same_messages);
    RUN(truncated_message_is_held_back);
    RUN(message_at_the_limit_is_delivered);
    RUN(oversized_message_is_skipped_and_reported);
    RUN(callback_failure_stops_the_feed);
    RUN(interleaved_conns_reassemble_independently);
    RUN(header_layout);
    return unit_done();
}

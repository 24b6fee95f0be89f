/* NRI mux framing: frames reassembled from any chunking, conns kept apart,
 * every malformed header rejected. */
#include <stdlib.h>

#include "unit.h"
#include "wire/mux.h"

/* Per-conn byte streams as the reader hands them out. */
struct sink {
    char conn[8][64];
    size_t len[8];
    int slices;
    int fail_after; /* return an error on this slice (0: never) */
};

static int collect(void *ctx, uint32_t conn, const uint8_t *data, size_t len,
                   struct wire_error *err)
{
    struct sink *s = ctx;
    if (++s->slices == s->fail_after) {
        wire_fail(err, "sink refused slice %d", s->slices);
        return -1;
    }
    if (conn >= 8 || s->len[conn] + len > sizeof(s->conn[0]))
        return -1;
    memcpy(s->conn[conn] + s->len[conn], data, len);
    s->len[conn] += len;
    return 0;
}

static const struct {
    uint32_t conn;
    const char *payload;
} frames[] = {
    {1, "abc"}, {2, "hello"}, {1, ""}, {7, "x"}, {1, "defg"}, {2, " world"},
};

static size_t build_stream(uint8_t *buf)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        size_t len = strlen(frames[i].payload);
        mux_put_header(buf + n, frames[i].conn, (uint32_t)len);
        memcpy(buf + n + MUX_HEADER_LEN, frames[i].payload, len);
        n += MUX_HEADER_LEN + len;
    }
    return n;
}

static void check_streams(const struct sink *s)
{
    CHECK_EQ_U(s->len[1], 7);
    CHECK(memcmp(s->conn[1], "abcdefg", 7) == 0);
    CHECK_EQ_U(s->len[2], 11);
    CHECK(memcmp(s->conn[2], "hello world", 11) == 0);
    CHECK_EQ_U(s->len[7], 1);
    CHECK_EQ_U(s->len[0] + s->len[3], 0);
}

TEST(every_chunk_size_gives_the_same_streams)
{
    uint8_t buf[256];
    size_t n = build_stream(buf);
    for (size_t chunk = 1; chunk <= n; chunk++) {
        struct mux_reader r;
        struct sink s = {0};
        mux_reader_init(&r);
        for (size_t off = 0; off < n; off += chunk) {
            size_t len = off + chunk > n ? n - off : chunk;
            CHECK(mux_feed(&r, buf + off, len, collect, &s, NULL) == 0);
        }
        check_streams(&s);
        CHECK(mux_reader_at_boundary(&r));
    }
}

TEST(every_two_way_split_gives_the_same_streams)
{
    uint8_t buf[256];
    size_t n = build_stream(buf);
    for (size_t cut = 0; cut <= n; cut++) {
        struct mux_reader r;
        struct sink s = {0};
        mux_reader_init(&r);
        CHECK(mux_feed(&r, buf, cut, collect, &s, NULL) == 0);
        CHECK(mux_feed(&r, buf + cut, n - cut, collect, &s, NULL) == 0);
        check_streams(&s);
    }
}

TEST(truncated_frame_is_not_at_a_boundary)
{
    uint8_t buf[256];
    size_t n = build_stream(buf);
    /* Cut inside the first header, inside a payload, inside a later header. */
    const size_t cuts[] = {3, MUX_HEADER_LEN + 1, MUX_HEADER_LEN + 3 + 4};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        struct mux_reader r;
        struct sink s = {0};
        mux_reader_init(&r);
        CHECK(cuts[i] < n);
        CHECK(mux_feed(&r, buf, cuts[i], collect, &s, NULL) == 0);
        CHECK(!mux_reader_at_boundary(&r));
    }
}

TEST(oversized_frame_is_a_stream_error)
{
    static const struct {
        uint32_t len;
        int rc;
    } cases[] = {
        {MUX_MAX_PAYLOAD, 0},
        {MUX_MAX_PAYLOAD + 1, -1},
        {UINT32_MAX, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t hdr[MUX_HEADER_LEN];
        struct mux_reader r;
        struct sink s = {0};
        struct wire_error err = {{0}};
        mux_reader_init(&r);
        mux_put_header(hdr, 1, cases[i].len);
        CHECK(mux_feed(&r, hdr, sizeof(hdr), collect, &s, &err) == cases[i].rc);
        CHECK_EQ_U(s.slices, 0);
        if (cases[i].rc)
            CHECK(strstr(err.msg, "maximum") != NULL);
    }
}

TEST(sink_failure_stops_the_feed)
{
    uint8_t buf[256];
    size_t n = build_stream(buf);
    struct mux_reader r;
    struct sink s = {.fail_after = 2};
    struct wire_error err = {{0}};
    mux_reader_init(&r);
    CHECK(mux_feed(&r, buf, n, collect, &s, &err) == -1);
    CHECK_STR(err.msg, "sink refused slice 2");
    CHECK_EQ_U(s.slices, 2); /* nothing delivered after the failure */
}

TEST(header_is_big_endian)
{
    uint8_t hdr[MUX_HEADER_LEN];
    mux_put_header(hdr, 0x01020304, 0x0a0b0c0d);
    static const uint8_t want[] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d};
    CHECK(memcmp(hdr, want, sizeof(want)) == 0);
}

int main(void)
{
    RUN(every_chunk_size_gives_the_same_streams);
    RUN(every_two_way_split_gives_the_same_streams);
    RUN(truncated_frame_is_not_at_a_boundary);
    RUN(oversized_frame_is_a_stream_error);
    RUN(sink_failure_stops_the_feed);
    RUN(header_is_big_endian);
    return unit_done();
}

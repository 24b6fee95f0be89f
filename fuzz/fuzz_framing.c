/* libFuzzer target for the mux and ttrpc readers: any bytes, in any chunking,
 * must give the same messages (or the same failure) as fed at once, and
 * never read outside the input. The first input byte picks the chunk size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/mux.h"
#include "wire/ttrpc.h"

/* A digest of everything delivered, to compare two feeds. */
struct digest {
    uint64_t hash;
    uint64_t msgs;
    struct ttrpc_reader conn[2];
};

static void mix(struct digest *d, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d->hash = (d->hash ^ p[i]) * 0x100000001b3ull;
}

static int on_msg(void *ctx, const struct ttrpc_msg *m, struct wire_error *err)
{
    struct digest *d = ctx;
    (void)err;
    if (m->len > TTRPC_MAX_MESSAGE ? !m->oversized || m->data : m->oversized)
        abort(); /* oversize flag must match the announced length */
    if (m->len && !m->oversized && !m->data)
        abort();
    uint8_t hdr[TTRPC_HEADER_LEN];
    ttrpc_put_header(hdr, m->len, m->stream, m->type, m->flags);
    mix(d, hdr, sizeof(hdr));
    if (m->data)
        mix(d, m->data, m->len);
    d->msgs++;
    return 0;
}

static int on_slice(void *ctx, uint32_t conn, const uint8_t *data, size_t len,
                    struct wire_error *err)
{
    struct digest *d = ctx;
    if (len == 0)
        abort(); /* empty slices are not handed out */
    if (conn != MUX_CONN_PLUGIN && conn != MUX_CONN_RUNTIME)
        return 0;
    return ttrpc_feed(&d->conn[conn - 1], data, len, on_msg, d, err);
}

static int run(const uint8_t *data, size_t size, size_t chunk, struct digest *d)
{
    struct mux_reader m;
    mux_reader_init(&m);
    memset(d, 0, sizeof(*d));
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t len = off + chunk > size ? size - off : chunk;
        /* A private copy per chunk lets ASan catch reads past it. */
        uint8_t *copy = malloc(len);
        memcpy(copy, data + off, len);
        rc = mux_feed(&m, copy, len, on_slice, d, NULL);
        free(copy);
    }
    ttrpc_reader_reset(&d->conn[0]);
    ttrpc_reader_reset(&d->conn[1]);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = 1 + data[0] % 32;
    data++, size--;
    struct digest whole, pieces;
    int rc_whole = run(data, size, size ? size : 1, &whole);
    int rc_pieces = run(data, size, chunk, &pieces);
    /* A failing feed stops at the failure; only compare clean runs. */
    if (rc_whole != rc_pieces)
        abort();
    if (rc_whole == 0 && (whole.hash != pieces.hash || whole.msgs != pieces.msgs))
        abort();
    return 0;
}

/* libFuzzer target for the whole NRI session: arbitrary runtime bytes go in;
 * the session must not crash or leak, must answer with well-formed frames,
 * and must answer the same whichever way the input is cut. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "wire/mux.h"
#include "wire/session.h"
#include "wire/ttrpc.h"

/* Handlers that exercise the adjustment ownership rules. */
static int create(void *ctx, const nri_pod *pod, const nri_container *ctr,
                  nri_adjustment *adj, struct nri_error *err)
{
    (void)ctx, (void)pod;
    if (ctr->name && ctr->name[0] == 'x') {
        strcpy(err->msg, "refused");
        return -1;
    }
    Nri__Pkg__Api__V1alpha1__Mount *m = malloc(sizeof(*m));
    nri__pkg__api__v1alpha1__mount__init(m);
    m->destination = strdup("/sys");
    adj->mounts = malloc(sizeof(*adj->mounts));
    adj->mounts[0] = m;
    adj->n_mounts = 1;
    return 0;
}

static int configure(void *ctx, const char *config, const char *rt, const char *ver,
                     struct nri_error *err)
{
    (void)ctx, (void)rt, (void)ver;
    if (config[0] == '!') {
        strcpy(err->msg, "bad config");
        return -1;
    }
    return 0;
}

static const struct nri_handlers handlers = {
    .configure = configure,
    .create_container = create,
};

struct out_check {
    uint64_t hash;
};

static int on_out_msg(void *ctx, const struct ttrpc_msg *m, struct wire_error *err)
{
    (void)err;
    struct out_check *c = ctx;
    if (m->oversized || (m->type != TTRPC_RESPONSE && m->type != TTRPC_REQUEST))
        abort(); /* we only ever send requests and responses within the limit */
    for (uint32_t i = 0; i < m->len; i++)
        c->hash = (c->hash ^ m->data[i]) * 0x100000001b3ull;
    return 0;
}

/* Runs the input through a fresh session fed in `chunk`-byte pieces; checks
 * the output parses completely and returns its digest. */
static uint64_t run(const uint8_t *data, size_t size, size_t chunk)
{
    struct nri_session_config cfg = {"uid-mapper", "10", NULL, &handlers};
    struct nri_session *s = nri_session_new(&cfg);
    if (!s || nri_session_register(s) != 0)
        abort();
    int rc = 0;
    for (size_t off = 0; off < size && rc == 0; off += chunk) {
        size_t len = off + chunk > size ? size - off : chunk;
        rc = nri_session_feed(s, data + off, len, NULL);
    }

    struct wbuf *out = nri_session_out(s);
    struct mux_reader m;
    struct ttrpc_reader conns[3];
    struct out_check c = {0};
    mux_reader_init(&m);
    for (int i = 0; i < 3; i++)
        ttrpc_reader_init(&conns[i]);
    /* Every byte we send is a complete frame of a complete message. */
    size_t n = wbuf_len(out);
    const uint8_t *p = wbuf_head(out);
    while (n > 0) {
        uint8_t hdr[MUX_HEADER_LEN];
        memcpy(hdr, p, MUX_HEADER_LEN);
        uint32_t conn = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
        uint32_t len = (uint32_t)hdr[4] << 24 | hdr[5] << 16 | hdr[6] << 8 | hdr[7];
        if (conn < 1 || conn > 2 || n < MUX_HEADER_LEN + (size_t)len)
            abort();
        if (ttrpc_feed(&conns[conn], p + MUX_HEADER_LEN, len, on_out_msg, &c, NULL) != 0 ||
            !ttrpc_reader_at_boundary(&conns[conn]))
            abort();
        p += MUX_HEADER_LEN + len;
        n -= MUX_HEADER_LEN + len;
    }
    for (int i = 0; i < 3; i++)
        ttrpc_reader_reset(&conns[i]);
    nri_session_free(s);
    return rc == 0 ? c.hash : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet++)
        log_set_level(LOG_LVL_ERROR); /* bad requests warn by design */
    if (size < 1)
        return 0;
    size_t chunk = 1 + data[0] % 64;
    data++, size--;
    if (run(data, size, size ? size : 1) != run(data, size, chunk))
        abort();
    return 0;
}

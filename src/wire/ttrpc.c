#include "wire/ttrpc.h"

#include <stdlib.h>
#include <string.h>

#include "wire/be.h"

void ttrpc_reader_init(struct ttrpc_reader *r) { memset(r, 0, sizeof(*r)); }

void ttrpc_reader_reset(struct ttrpc_reader *r)
{
    free(r->body);
    ttrpc_reader_init(r);
}

bool ttrpc_reader_at_boundary(const struct ttrpc_reader *r)
{
    return r->hdr_len == 0 && !r->in_body;
}

void ttrpc_put_header(uint8_t out[TTRPC_HEADER_LEN], uint32_t len,
                      uint32_t stream, uint8_t type, uint8_t flags)
{
    be32_put(out, len);
    be32_put(out + 4, stream);
    out[8] = type;
    out[9] = flags;
}

static void start_body(struct ttrpc_reader *r)
{
    r->msg = (struct ttrpc_msg){
        .len = be32_get(r->hdr),
        .stream = be32_get(r->hdr + 4),
        .type = r->hdr[8],
        .flags = r->hdr[9],
        .oversized = be32_get(r->hdr) > TTRPC_MAX_MESSAGE,
    };
    r->hdr_len = 0;
    r->in_body = true;
    r->have = 0;
}

static int deliver(struct ttrpc_reader *r, const uint8_t *payload,
                   ttrpc_msg_fn fn, void *ctx, struct wire_error *err)
{
    struct ttrpc_msg m = r->msg;
    m.data = m.oversized || m.len == 0 ? NULL : payload;
    r->in_body = false;
    int rc = fn(ctx, &m, err);
    free(r->body);
    r->body = NULL;
    return rc;
}

int ttrpc_feed(struct ttrpc_reader *r, const uint8_t *data, size_t len,
               ttrpc_msg_fn fn, void *ctx, struct wire_error *err)
{
    for (;;) {
        if (!r->in_body) {
            if (len == 0)
                return 0;
            if (!gather_header(r->hdr, TTRPC_HEADER_LEN, &r->hdr_len, &data, &len))
                return 0;
            start_body(r);
        }

        uint32_t want = r->msg.len - r->have;
        size_t take = want < len ? want : len;

        /* The whole payload is in this chunk: hand it out without copying. */
        if (r->have == 0 && take == want && !r->msg.oversized) {
            if (deliver(r, data, fn, ctx, err) != 0)
                return -1;
            data += take;
            len -= take;
            continue;
        }
        if (take == 0)
            return 0;
        if (!r->msg.oversized) {
            if (!r->body && !(r->body = malloc(r->msg.len))) {
                wire_fail(err, "out of memory reassembling a %u-byte ttrpc message",
                          r->msg.len);
                return -1;
            }
            memcpy(r->body + r->have, data, take);
        }
        r->have += (uint32_t)take;
        data += take;
        len -= take;
        if (r->have == r->msg.len && deliver(r, r->body, fn, ctx, err) != 0)
            return -1;
    }
}

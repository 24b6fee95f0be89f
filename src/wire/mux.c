#include "wire/mux.h"

#include <string.h>

#include "wire/be.h"

void mux_reader_init(struct mux_reader *r) { memset(r, 0, sizeof(*r)); }

bool mux_reader_at_boundary(const struct mux_reader *r)
{
    return r->hdr_len == 0 && r->remaining == 0;
}

void mux_put_header(uint8_t out[MUX_HEADER_LEN], uint32_t conn, uint32_t len)
{
    be32_put(out, conn);
    be32_put(out + 4, len);
}

int mux_feed(struct mux_reader *r, const uint8_t *data, size_t len,
             mux_slice_fn fn, void *ctx, struct wire_error *err)
{
    while (len > 0) {
        if (r->remaining == 0) {
            if (!gather_header(r->hdr, MUX_HEADER_LEN, &r->hdr_len, &data, &len))
                return 0;
            r->hdr_len = 0;
            r->conn = be32_get(r->hdr);
            r->remaining = be32_get(r->hdr + 4);
            if (r->remaining > MUX_MAX_PAYLOAD) {
                wire_fail(err, "mux frame for conn %u claims %u bytes, more than "
                          "the %u-byte maximum", r->conn, r->remaining,
                          (unsigned)MUX_MAX_PAYLOAD);
                return -1;
            }
            continue;
        }
        size_t take = r->remaining < len ? r->remaining : len;
        r->remaining -= (uint32_t)take;
        if (fn(ctx, r->conn, data, take, err) != 0)
            return -1;
        data += take;
        len -= take;
    }
    return 0;
}

/* Fixed-size big-endian headers, as both NRI's mux and ttrpc put them on the
 * wire: their 32-bit fields, and gathering one from a byte stream that may
 * split it anywhere. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

static inline void be32_put(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Moves bytes from the front of *data (*len of them) into hdr until it holds
 * size bytes (*have so far), advancing *data and *len. True once complete. */
static inline bool gather_header(uint8_t *hdr, size_t size, size_t *have,
                                 const uint8_t **data, size_t *len)
{
    size_t take = size - *have;
    if (take > *len)
        take = *len;
    memcpy(hdr + *have, *data, take);
    *have += take;
    *data += take;
    *len -= take;
    return *have == size;
}

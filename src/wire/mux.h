/* NRI's connection multiplexer (containerd/nri pkg/net/multiplex).
 *
 * One stream socket carries several logical byte streams ("conns"), cut into
 * frames:  conn id (u32 BE) | payload length (u32 BE) | payload.
 * A frame is only a slice of its conn's byte stream: a ttrpc message may span
 * several frames and one frame may hold several messages, so the reader hands
 * out payload slices and leaves reassembly to the layer above.
 *
 * The reader is a pure incremental parser: feed it bytes in any chunking. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire_error.h"
#include "wire/ttrpc.h"

#define MUX_HEADER_LEN 8
/* Conn 0 is reserved; the runtime serves nothing on it. */
#define MUX_CONN_PLUGIN  1u /* Plugin service: the runtime calls us */
#define MUX_CONN_RUNTIME 2u /* Runtime service: we call the runtime */
/* Upstream never writes a larger frame (a whole ttrpc message at most); a
 * larger length can only be corruption, and accepting it would let the peer
 * make us wait for gigabytes that never come. */
#define MUX_MAX_PAYLOAD (TTRPC_HEADER_LEN + TTRPC_MAX_MESSAGE)

struct mux_reader {
    uint8_t hdr[MUX_HEADER_LEN];
    size_t hdr_len;     /* header bytes gathered so far */
    uint32_t conn;      /* conn of the frame being read */
    uint32_t remaining; /* payload bytes of that frame still to come */
};

/* Receives each payload slice in order; a non-zero return (with err filled)
 * stops the feed and is returned from mux_feed. Empty frames are not passed. */
typedef int (*mux_slice_fn)(void *ctx, uint32_t conn, const uint8_t *data,
                            size_t len, struct wire_error *err);

void mux_reader_init(struct mux_reader *r);
/* 0, or -1 with err filled: a frame longer than MUX_MAX_PAYLOAD (the stream
 * cannot be resynchronised) or the slice callback's failure. */
int mux_feed(struct mux_reader *r, const uint8_t *data, size_t len,
             mux_slice_fn fn, void *ctx, struct wire_error *err);
/* True between frames: an end of stream here is clean, elsewhere truncation. */
bool mux_reader_at_boundary(const struct mux_reader *r);

void mux_put_header(uint8_t out[MUX_HEADER_LEN], uint32_t conn, uint32_t len);

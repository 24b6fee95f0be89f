/* ttrpc message framing (containerd/ttrpc channel.go, PROTOCOL.md).
 *
 * Each mux conn carries a byte stream of messages:
 *   length (u32 BE) | stream id (u32 BE) | type (u8) | flags (u8) | payload
 * where length counts the payload only. Requests travel on odd stream ids
 * chosen by the caller (1, 3, 5, ...); the reply reuses the request's id.
 *
 * The reader is a pure incremental parser: feed it bytes in any chunking and
 * it calls back once per complete message. A message longer than the 4 MiB
 * limit is skipped and reported (oversized, no data) so the server can answer
 * that stream with ResourceExhausted, as ttrpc does, and stay in sync. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire/wire_error.h"

#define TTRPC_HEADER_LEN  10
#define TTRPC_MAX_MESSAGE (4u << 20)

enum ttrpc_type { TTRPC_REQUEST = 1, TTRPC_RESPONSE = 2, TTRPC_DATA = 3 };

enum {
    TTRPC_FLAG_REMOTE_CLOSED = 0x1,
    TTRPC_FLAG_REMOTE_OPEN = 0x2, /* a request that opens a client stream */
    TTRPC_FLAG_NO_DATA = 0x4,
};

/* google.golang.org/grpc/codes values carried in a ttrpc Status. */
enum ttrpc_code {
    TTRPC_OK = 0,
    TTRPC_UNKNOWN = 2,
    TTRPC_INVALID_ARGUMENT = 3,
    TTRPC_RESOURCE_EXHAUSTED = 8,
    TTRPC_FAILED_PRECONDITION = 9,
    TTRPC_UNIMPLEMENTED = 12,
    TTRPC_INTERNAL = 13,
};

struct ttrpc_msg {
    uint32_t stream;
    uint8_t type;
    uint8_t flags;
    bool oversized;      /* payload skipped: longer than TTRPC_MAX_MESSAGE */
    uint32_t len;        /* payload length as announced */
    const uint8_t *data; /* payload (NULL when oversized or empty) */
};

struct ttrpc_reader {
    uint8_t hdr[TTRPC_HEADER_LEN];
    size_t hdr_len;   /* header bytes gathered so far */
    bool in_body;     /* header complete, payload pending */
    struct ttrpc_msg msg;
    uint8_t *body;    /* reassembly buffer when the payload spans feeds */
    uint32_t have;    /* payload bytes gathered (or skipped) so far */
};

/* Called once per complete message; data is valid only during the call.
 * A non-zero return (with err filled) stops the feed. */
typedef int (*ttrpc_msg_fn)(void *ctx, const struct ttrpc_msg *m,
                            struct wire_error *err);

void ttrpc_reader_init(struct ttrpc_reader *r);
/* Frees a partially reassembled message. */
void ttrpc_reader_reset(struct ttrpc_reader *r);
/* 0, or -1 with err filled (out of memory, or the callback's failure). */
int ttrpc_feed(struct ttrpc_reader *r, const uint8_t *data, size_t len,
               ttrpc_msg_fn fn, void *ctx, struct wire_error *err);
/* True between messages: an end of stream here is clean. */
bool ttrpc_reader_at_boundary(const struct ttrpc_reader *r);

void ttrpc_put_header(uint8_t out[TTRPC_HEADER_LEN], uint32_t len,
                      uint32_t stream, uint8_t type, uint8_t flags);

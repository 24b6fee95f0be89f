/* A growable byte queue: frames are appended at the tail and the socket
 * drains the head, so a peer that reads slowly never blocks the producer. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct wbuf {
    uint8_t *data;
    size_t head; /* first byte not yet consumed */
    size_t tail; /* one past the last byte appended */
    size_t cap;
};

/* Space for n more bytes at the tail, or NULL when memory is exhausted.
 * Nothing is appended until wbuf_commit(). */
uint8_t *wbuf_reserve(struct wbuf *w, size_t n);
void wbuf_commit(struct wbuf *w, size_t n);
int wbuf_append(struct wbuf *w, const void *p, size_t n);

static inline const uint8_t *wbuf_head(const struct wbuf *w) { return w->data + w->head; }
static inline size_t wbuf_len(const struct wbuf *w) { return w->tail - w->head; }
void wbuf_consume(struct wbuf *w, size_t n);
void wbuf_free(struct wbuf *w);

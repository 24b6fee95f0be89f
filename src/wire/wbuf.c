#include "wire/wbuf.h"

#include <stdlib.h>
#include <string.h>

uint8_t *wbuf_reserve(struct wbuf *w, size_t n)
{
    if (w->cap - w->tail >= n)
        return w->data + w->tail;
    /* Reclaim consumed space before growing. */
    size_t used = w->tail - w->head;
    if (w->head > 0) {
        memmove(w->data, w->data + w->head, used);
        w->head = 0;
        w->tail = used;
        if (w->cap - w->tail >= n)
            return w->data + w->tail;
    }
    if (n > SIZE_MAX / 2 - used)
        return NULL;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - used < n)
        cap *= 2;
    uint8_t *p = realloc(w->data, cap);
    if (!p)
        return NULL;
    w->data = p;
    w->cap = cap;
    return w->data + w->tail;
}

void wbuf_commit(struct wbuf *w, size_t n) { w->tail += n; }

int wbuf_append(struct wbuf *w, const void *p, size_t n)
{
    uint8_t *dst = wbuf_reserve(w, n);
    if (!dst)
        return -1;
    if (n)
        memcpy(dst, p, n);
    wbuf_commit(w, n);
    return 0;
}

void wbuf_consume(struct wbuf *w, size_t n)
{
    w->head += n;
    if (w->head == w->tail)
        w->head = w->tail = 0;
}

void wbuf_free(struct wbuf *w)
{
    free(w->data);
    memset(w, 0, sizeof(*w));
}

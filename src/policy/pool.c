/* Pools: the set of IDs a plan may hand out, as sorted disjoint ranges. */
#include "policy/idmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/decimal.h"

static uint64_t range_end(const struct id_range *r)
{
    return (uint64_t)r->first + r->count; /* exclusive */
}

static int by_first(const void *a, const void *b)
{
    const struct id_range *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* Sorts r in place and stores the union of its ranges in out, merging
 * overlapping and touching ones. Returns -1 if the union needs more than
 * max ranges. */
static int pool_set_union(struct id_pool *out, struct id_range *r, size_t n, size_t max)
{
    qsort(r, n, sizeof(*r), by_first);
    out->n = 0;
    out->size = 0;
    for (size_t i = 0; i < n; i++) {
        struct id_range *last = out->n ? &out->r[out->n - 1] : NULL;
        if (last && range_end(last) >= r[i].first) {
            uint64_t end = range_end(&r[i]);
            if (end > range_end(last))
                last->count = (uint32_t)(end - last->first);
            continue;
        }
        if (out->n == max)
            return -1;
        out->r[out->n++] = r[i];
    }
    for (size_t i = 0; i < out->n; i++)
        out->size += out->r[i].count;
    return 0;
}

void pool_from_mapping(const struct id_mapping *m, struct id_pool *out)
{
    struct id_range r[IDMAP_MAX_EXTENTS];
    for (size_t i = 0; i < m->n; i++)
        r[i] = (struct id_range){.first = m->e[i].container_id, .count = m->e[i].size};
    /* m->n ranges never unite into more than m->n. */
    (void)pool_set_union(out, r, m->n, IDMAP_MAX_EXTENTS);
}

int pool_from_map_text(const char *text, struct id_pool *out, char *err, size_t errlen)
{
    struct id_mapping *m = malloc(sizeof(*m)); /* 4 KiB: not on callers' stacks */
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = idmap_parse(text, m, err, errlen);
    if (rc == 0)
        pool_from_mapping(m, out);
    free(m);
    return rc;
}

/* Parses one item "A" or "A-B" ending at ',' or the end of the string. */
static const char *parse_range_item(const char *s, struct id_range *r)
{
    uint32_t first, last;
    s = decimal_u32(s, &first);
    if (!s)
        return NULL;
    last = first;
    if (*s == '-') {
        s = decimal_u32(s + 1, &last);
        if (!s)
            return NULL;
    }
    if ((*s != ',' && *s != '\0') || last < first || last > IDMAP_MAX_ID)
        return NULL;
    *r = (struct id_range){.first = first, .count = last - first + 1};
    return s;
}

int pool_parse_ranges(const char *spec, struct id_pool *out, char *err, size_t errlen)
{
    size_t n = list_items(spec);
    struct id_range *r = calloc(n, sizeof(*r));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *s = spec;
    for (size_t i = 0; i < n; i++, s++) {
        const char *item = s;
        s = parse_range_item(item, &r[i]);
        if (!s) {
            snprintf(err, errlen,
                     "pool range %zu \"%.*s\" is not FIRST-LAST or ID with "
                     "FIRST <= LAST <= %" PRIu32 " (example: 0-2047,65534)",
                     i + 1, list_item_len(item), item, IDMAP_MAX_ID);
            free(r);
            return -1;
        }
    }
    int rc = pool_set_union(out, r, n, IDMAP_MAX_EXTENTS);
    free(r);
    if (rc < 0)
        snprintf(err, errlen, "the pool ranges need more than %d separate ranges",
                 IDMAP_MAX_EXTENTS);
    return rc;
}

void pool_intersect(struct id_pool *pool, const struct id_pool *narrow)
{
    if (narrow == pool)
        return; /* p ∩ p = p, and the loop below must not read what it writes */
    struct id_pool in = *pool;
    size_t i = 0, j = 0;
    pool->n = 0;
    pool->size = 0;
    while (i < in.n && j < narrow->n) {
        const struct id_range *a = &in.r[i], *b = &narrow->r[j];
        uint64_t lo = a->first > b->first ? a->first : b->first;
        uint64_t hi = range_end(a) < range_end(b) ? range_end(a) : range_end(b);
        /* Both operands are disjoint and non-adjacent, so consecutive pieces
         * never touch and need no merging. At most n + m - 1 pieces fit by
         * the precondition. */
        if (lo < hi) {
            if (pool->n == IDMAP_POOL_MAX_RANGES)
                abort(); /* the documented precondition was broken */
            pool->r[pool->n++] = (struct id_range){.first = (uint32_t)lo,
                                                   .count = (uint32_t)(hi - lo)};
            pool->size += hi - lo;
        }
        if (range_end(a) < range_end(b))
            i++;
        else
            j++;
    }
}

size_t pool_range_index(const struct id_pool *pool, uint32_t id)
{
    size_t lo = 0, hi = pool->n; /* first range ending after id */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (range_end(&pool->r[mid]) <= id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int pool_contains(const struct id_pool *pool, uint32_t id)
{
    size_t i = pool_range_index(pool, id);
    return i < pool->n && pool->r[i].first <= id;
}

int pool_format(const struct id_pool *pool, char *buf, size_t len)
{
    size_t used = 0;
    if (len > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < pool->n; i++) {
        const struct id_range *r = &pool->r[i];
        const char *sep = i ? "," : "";
        int w = r->count == 1
                    ? snprintf(buf + used, len - used, "%s%" PRIu32, sep, r->first)
                    : snprintf(buf + used, len - used, "%s%" PRIu32 "-%" PRIu32, sep,
                               r->first, (uint32_t)(range_end(r) - 1));
        if (w < 0 || (size_t)w >= len - used)
            return -1;
        used += (size_t)w;
    }
    return used > INT32_MAX ? -1 : (int)used;
}

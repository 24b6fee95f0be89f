/* libFuzzer target for the ID text parsers: uid_map text, pool ranges and ID
 * lists. Whatever a parser accepts must satisfy the invariants the rest of
 * the plugin relies on; a violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/idmap.h"

static void check_mapping(const struct id_mapping *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const struct id_extent *e = &m->e[i];
        if (e->size == 0 || (uint64_t)e->container_id + e->size - 1 > IDMAP_MAX_ID ||
            (uint64_t)e->host_id + e->size - 1 > IDMAP_MAX_ID)
            abort();
        if (i > 0 && (uint64_t)m->e[i - 1].container_id + m->e[i - 1].size > e->container_id)
            abort(); /* unsorted or overlapping */
    }
}

static void check_pool(const struct id_pool *p)
{
    uint64_t size = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->r[i].count == 0 || (uint64_t)p->r[i].first + p->r[i].count - 1 > IDMAP_MAX_ID)
            abort();
        if (i > 0 && (uint64_t)p->r[i - 1].first + p->r[i - 1].count >= p->r[i].first)
            abort(); /* unsorted, overlapping or touching */
        size += p->r[i].count;
    }
    if (size != p->size)
        abort();
}

/* Parse, format, parse again: the same map. */
static void fuzz_map(const char *text)
{
    static struct id_mapping m, again;
    static char buf[IDMAP_MAX_EXTENTS * 33 + 1];
    char err[256];
    if (idmap_parse(text, &m, err, sizeof(err)) < 0)
        return;
    check_mapping(&m);
    if (idmap_format(&m, buf, sizeof(buf)) < 0)
        abort(); /* 340 lines of three 10-digit numbers always fit */
    if (idmap_parse(buf, &again, err, sizeof(err)) < 0 || again.n != m.n ||
        memcmp(again.e, m.e, m.n * sizeof(*m.e)) != 0)
        abort();
    struct id_pool pool;
    pool_from_mapping(&m, &pool);
    check_pool(&pool);
}

static void fuzz_ranges(const char *spec)
{
    static struct id_pool pool, narrow;
    char err[256];
    if (pool_parse_ranges(spec, &pool, err, sizeof(err)) < 0)
        return;
    check_pool(&pool);
    narrow = pool;
    pool_intersect(&pool, &narrow);
    check_pool(&pool);
    if (pool.size != narrow.size)
        abort(); /* p ∩ p = p */
}

static void fuzz_list(const char *s)
{
    uint32_t *ids;
    size_t n;
    char err[256];
    if (id_list_parse(s, &ids, &n, err, sizeof(err)) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (ids[i] > IDMAP_MAX_ID)
            abort();
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_map(text);
    fuzz_ranges(text);
    fuzz_list(text);
    free(text);
    return 0;
}

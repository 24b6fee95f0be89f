/* The mapping rule of the design notes. Pool IDs are addressed by slot, their
 * rank in the pool (u_slot is the slot-th smallest pool ID); slots and IDs
 * convert through prefix sums over the pool's ranges, so nothing here walks
 * the pool ID by ID: a plan costs O((r + k) log(r + k) + k^2) for r pool
 * ranges and k required IDs, whatever the pool size. */
#include "policy/plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Slot arithmetic over one pool. */
struct slots {
    const struct id_pool *pool;
    uint64_t first_slot[IDMAP_POOL_MAX_RANGES]; /* slot of pool->r[i].first */
};

static void slots_init(struct slots *s, const struct id_pool *pool)
{
    uint64_t slot = 0;
    s->pool = pool;
    for (size_t i = 0; i < pool->n; i++) {
        s->first_slot[i] = slot;
        slot += pool->r[i].count;
    }
}

/* The slot of id, or false when id is not in the pool. */
static bool slot_of(const struct slots *s, uint32_t id, uint64_t *slot)
{
    size_t i = pool_range_index(s->pool, id);
    if (i == s->pool->n || s->pool->r[i].first > id)
        return false;
    *slot = s->first_slot[i] + (id - s->pool->r[i].first);
    return true;
}

static uint32_t id_at(const struct slots *s, uint64_t slot)
{
    size_t lo = 0, hi = s->pool->n - 1; /* last range starting at or before slot */
    while (lo < hi) {
        size_t mid = hi - (hi - lo) / 2;
        if (s->first_slot[mid] <= slot)
            lo = mid;
        else
            hi = mid - 1;
    }
    return s->pool->r[lo].first + (uint32_t)(slot - s->first_slot[lo]);
}

/* Reserved slots, kept sorted so the next free slot is found by skipping
 * over runs of reserved ones. */
struct reserved {
    uint64_t *slot;
    size_t n;
};

static size_t lower_bound(const struct reserved *r, uint64_t slot)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->slot[mid] < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void reserve_at(struct reserved *r, size_t pos, uint64_t slot)
{
    memmove(&r->slot[pos + 1], &r->slot[pos], (r->n - pos) * sizeof(*r->slot));
    r->slot[pos] = slot;
    r->n++;
}

/* The first free slot at or after from (possibly size, meaning none);
 * *pos becomes its insertion position. */
static uint64_t first_free_from(const struct reserved *r, uint64_t from, size_t *pos)
{
    size_t j = lower_bound(r, from);
    while (j < r->n && r->slot[j] == from) {
        from++;
        j++;
    }
    *pos = j;
    return from;
}

/* Reserves and returns the first free slot at or cyclically after home.
 * There is one: fewer slots are reserved than the pool holds. */
static uint64_t reserve_probing(struct reserved *r, uint64_t home, uint64_t size)
{
    size_t pos;
    uint64_t slot = first_free_from(r, home, &pos);
    if (slot == size)
        slot = first_free_from(r, 0, &pos);
    reserve_at(r, pos, slot);
    return slot;
}

struct id_at_pos {
    uint32_t id;
    size_t pos;
};

static int by_id_then_pos(const void *a, const void *b)
{
    const struct id_at_pos *x = a, *y = b;
    if (x->id != y->id)
        return (x->id > y->id) - (x->id < y->id);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* required then extra, each ID once, in first-occurrence order. Returns the
 * count, or -1 when out of memory. */
static ptrdiff_t unique_ids(const uint32_t *required, size_t nrequired,
                            const uint32_t *extra, size_t nextra, uint32_t *out)
{
    size_t k = nrequired + nextra;
    struct id_at_pos *v = malloc((k ? k : 1) * sizeof(*v));
    bool *first = calloc(k ? k : 1, sizeof(*first));
    if (!v || !first) {
        free(v);
        free(first);
        return -1;
    }
    for (size_t i = 0; i < k; i++)
        v[i] = (struct id_at_pos){i < nrequired ? required[i] : extra[i - nrequired], i};
    qsort(v, k, sizeof(*v), by_id_then_pos);
    for (size_t i = 0; i < k; i++)
        first[v[i].pos] = i == 0 || v[i].id != v[i - 1].id;
    size_t n = 0;
    for (size_t i = 0; i < k; i++)
        if (first[i])
            out[n++] = i < nrequired ? required[i] : extra[i - nrequired];
    free(v);
    free(first);
    return (ptrdiff_t)n;
}

static int by_container(const void *a, const void *b)
{
    const struct id_extent *x = a, *y = b;
    return (x->container_id > y->container_id) - (x->container_id < y->container_id);
}

static int by_u32(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

static int by_u64(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

/* Writes the identity extents of the pool minus the sorted displaced IDs;
 * returns their count. */
static size_t identity_extents(const struct id_pool *pool, const uint32_t *displaced,
                               size_t ndisplaced, struct id_extent *out)
{
    size_t n = 0, d = 0;
    for (size_t i = 0; i < pool->n; i++) {
        uint64_t from = pool->r[i].first;
        uint64_t end = from + pool->r[i].count;
        for (; d < ndisplaced && displaced[d] < end; d++) {
            if (displaced[d] > from)
                out[n++] = (struct id_extent){(uint32_t)from, (uint32_t)from,
                                              (uint32_t)(displaced[d] - from)};
            from = (uint64_t)displaced[d] + 1;
        }
        if (from < end)
            out[n++] = (struct id_extent){(uint32_t)from, (uint32_t)from,
                                          (uint32_t)(end - from)};
    }
    return n;
}

/* Sorts the extents by container ID and merges runs that continue in both
 * columns; returns the new count. */
static size_t sort_and_merge(struct id_extent *e, size_t n)
{
    qsort(e, n, sizeof(*e), by_container);
    return idmap_merge_runs(e, n);
}

/* Working memory of one plan, sized for k input IDs. */
struct scratch {
    uint32_t *ids;      /* the distinct IDs, in rule order */
    uint64_t *reserved; /* struct reserved storage */
    uint32_t *displaced;
    struct id_extent *extents; /* identity pieces (<= ranges + k), outside IDs (<= k) */
    struct id_collision *collisions;
};

static void scratch_free(struct scratch *w)
{
    free(w->ids);
    free(w->reserved);
    free(w->displaced);
    free(w->extents);
    free(w->collisions);
}

static bool ids_valid(const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] > IDMAP_MAX_ID)
            return false;
    return true;
}

enum plan_status plan_map(const struct id_pool *pool,
                          const uint32_t *required, size_t nrequired,
                          const uint32_t *extra, size_t nextra,
                          struct id_plan *out)
{
    memset(out, 0, sizeof(*out));
    if (pool->size == 0)
        return PLAN_EMPTY_POOL;
    if (!ids_valid(required, nrequired) || !ids_valid(extra, nextra))
        return PLAN_INVALID_ID;

    size_t k = nrequired + nextra + 1; /* + 1: never a zero-sized allocation */
    struct scratch w = {
        .ids = calloc(k, sizeof(*w.ids)),
        .reserved = calloc(k, sizeof(*w.reserved)),
        .displaced = calloc(k, sizeof(*w.displaced)),
        .extents = calloc(pool->n + 2 * k, sizeof(*w.extents)),
        .collisions = calloc(k, sizeof(*w.collisions)),
    };
    struct slots *s = malloc(sizeof(*s));
    enum plan_status status = PLAN_NO_MEMORY;
    if (!s || !w.ids || !w.reserved || !w.displaced || !w.extents || !w.collisions)
        goto out;
    ptrdiff_t n = unique_ids(required, nrequired, extra, nextra, w.ids);
    if (n < 0)
        goto out;
    status = PLAN_TOO_MANY_IDS;
    if ((uint64_t)n > pool->size)
        goto out;

    slots_init(s, pool);
    struct reserved res = {.slot = w.reserved, .n = 0};
    uint64_t slot;
    for (ptrdiff_t i = 0; i < n; i++) /* IDs in the pool keep their identity */
        if (slot_of(s, w.ids[i], &slot))
            res.slot[res.n++] = slot;
    qsort(res.slot, res.n, sizeof(*res.slot), by_u64);

    size_t noutside = 0;
    for (ptrdiff_t i = 0; i < n; i++) { /* the others probe from their home */
        uint32_t id = w.ids[i];
        if (slot_of(s, id, &slot))
            continue;
        uint32_t host = id_at(s, reserve_probing(&res, id % pool->size, pool->size));
        w.displaced[noutside] = host;
        w.collisions[noutside] = (struct id_collision){host, host, id};
        noutside++;
    }

    /* The pool minus the displaced IDs maps to itself; each outside ID maps
     * to the pool ID it displaced. */
    qsort(w.displaced, noutside, sizeof(*w.displaced), by_u32);
    size_t ne = identity_extents(pool, w.displaced, noutside, w.extents);
    for (size_t i = 0; i < noutside; i++)
        w.extents[ne++] = (struct id_extent){w.collisions[i].displaced_by,
                                             w.collisions[i].host_id, 1};
    ne = sort_and_merge(w.extents, ne);
    status = PLAN_TOO_MANY_EXTENTS;
    if (ne > IDMAP_MAX_EXTENTS)
        goto out;

    out->map.n = ne;
    memcpy(out->map.e, w.extents, ne * sizeof(*w.extents));
    status = PLAN_MAP_TOO_LONG;
    if (idmap_text_len(&out->map) > IDMAP_MAX_TEXT)
        goto out;
    out->ncollisions = noutside;
    out->collisions = w.collisions;
    w.collisions = NULL;
    status = PLAN_OK;
out:
    free(s);
    scratch_free(&w);
    return status;
}

void id_plan_release(struct id_plan *p)
{
    free(p->collisions);
    p->collisions = NULL;
    p->ncollisions = 0;
}

const char *plan_strerror(enum plan_status s)
{
    switch (s) {
    case PLAN_OK:
        return "success";
    case PLAN_EMPTY_POOL:
        return "the pool is empty: check the map's first column and the configured pool ranges";
    case PLAN_TOO_MANY_IDS:
        return "more distinct IDs are required than the pool holds: "
               "widen the pool or configure fewer extra IDs";
    case PLAN_TOO_MANY_EXTENTS:
        return "the map would need more than 340 lines, the kernel's limit: "
               "use a pool with fewer ranges or fewer extra IDs";
    case PLAN_NO_MEMORY:
        return "out of memory";
    case PLAN_MAP_TOO_LONG:
        return "the map would be longer than the 4095 bytes the kernel takes in one write: "
               "use a pool with fewer ranges or fewer extra IDs";
    case PLAN_INVALID_ID:
        return "an ID is 4294967295, which the kernel reserves as \"no ID\"";
    }
    return "unknown plan status";
}

/* Property tests of the mapping rule over random pools and users.
 *
 * On small pools every plan is compared with a naive reference that walks
 * the pool ID by ID (written separately from src/policy/plan.c, straight from
 * the design notes), and checked for the properties the kernel and the design
 * need: injective in both columns, host IDs in the pool, every required ID
 * mapped, deterministic, at most 340 extents, maximally merged. Large sparse
 * pools, where the reference would be too slow, get the property checks.
 * UNIT_SEED=N repeats a run; the seed is printed. */
#include <stdbool.h>
#include <stdlib.h>

#include "policy/plan.h"
#include "unit.h"

#define SMALL_CASES 100000
#define LARGE_CASES 20000
#define MAX_IDS 12

static uint64_t rng_state;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t below(uint64_t n) { return rnd() % n; }

/* ---- the reference: one pool ID at a time ---- */

struct ref_result {
    enum plan_status status;
    struct id_mapping map;
    size_t ncollisions;
    struct id_collision collisions[MAX_IDS];
};

static bool ref_in(const uint32_t *ids, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void reference_plan(const struct id_pool *pool, const uint32_t *req, size_t nreq,
                           const uint32_t *extra, size_t nextra, struct ref_result *out)
{
    memset(out, 0, sizeof(*out));
    /* u[i]: the i-th smallest pool ID */
    size_t P = 0;
    uint32_t *u = malloc((pool->size + 1) * sizeof(*u));
    for (size_t r = 0; r < pool->n; r++)
        for (uint32_t k = 0; k < pool->r[r].count; k++)
            u[P++] = pool->r[r].first + k;
    if (P == 0) {
        out->status = PLAN_EMPTY_POOL;
        free(u);
        return;
    }
    uint32_t ids[2 * MAX_IDS];
    size_t n = 0;
    for (size_t i = 0; i < nreq + nextra; i++) {
        uint32_t id = i < nreq ? req[i] : extra[i - nreq];
        if (!ref_in(ids, n, id))
            ids[n++] = id;
    }
    if (n > P) {
        out->status = PLAN_TOO_MANY_IDS;
        free(u);
        return;
    }
    /* owner[i]: the container ID using slot i; own[i] says whether taken */
    uint32_t *owner = calloc(P, sizeof(*owner));
    bool *taken = calloc(P, sizeof(*taken));
    for (size_t i = 0; i < n; i++)
        for (size_t s = 0; s < P; s++)
            if (u[s] == ids[i]) {
                taken[s] = true;
                owner[s] = ids[i];
            }
    for (size_t i = 0; i < n; i++) {
        if (ref_in(u, P, ids[i]))
            continue;
        size_t s = ids[i] % P;
        while (taken[s])
            s = (s + 1) % P;
        taken[s] = true;
        owner[s] = ids[i];
        out->collisions[out->ncollisions++] = (struct id_collision){u[s], u[s], ids[i]};
    }
    /* (container, host) pairs, sorted by container; then runs */
    struct id_extent *pairs = malloc(P * sizeof(*pairs));
    for (size_t s = 0; s < P; s++)
        pairs[s] = (struct id_extent){taken[s] ? owner[s] : u[s], u[s], 1};
    for (size_t i = 1; i < P; i++) /* insertion sort: outside IDs are few */
        for (size_t j = i; j > 0 && pairs[j - 1].container_id > pairs[j].container_id; j--) {
            struct id_extent t = pairs[j];
            pairs[j] = pairs[j - 1];
            pairs[j - 1] = t;
        }
    size_t ne = 0;
    struct id_extent run = pairs[0];
    for (size_t i = 1; i <= P; i++) {
        if (i < P && pairs[i].container_id == run.container_id + run.size &&
            pairs[i].host_id == run.host_id + run.size) {
            run.size++;
            continue;
        }
        if (ne == IDMAP_MAX_EXTENTS) {
            out->status = PLAN_TOO_MANY_EXTENTS;
            break;
        }
        out->map.e[ne++] = run;
        if (i < P)
            run = pairs[i];
    }
    out->map.n = ne;
    char text[IDMAP_MAX_TEXT + 1];
    if (out->status == PLAN_OK && idmap_format(&out->map, text, sizeof(text)) < 0)
        out->status = PLAN_MAP_TOO_LONG;
    if (out->status != PLAN_OK)
        out->ncollisions = 0;
    free(pairs);
    free(owner);
    free(taken);
    free(u);
}

/* ---- properties every plan must have ---- */

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return (*x > *y) - (*x < *y);
}

/* The ranges [start, start + size) given as (start << 32 | index) keys are
 * disjoint. */
static bool disjoint(const struct id_mapping *m, bool host_column)
{
    uint64_t keys[IDMAP_MAX_EXTENTS];
    for (size_t i = 0; i < m->n; i++)
        keys[i] = (uint64_t)(host_column ? m->e[i].host_id : m->e[i].container_id) << 32 | i;
    qsort(keys, m->n, sizeof(*keys), cmp_u64);
    for (size_t i = 1; i < m->n; i++) {
        const struct id_extent *prev = &m->e[keys[i - 1] & 0xffffffff];
        uint64_t prev_start = keys[i - 1] >> 32;
        if (prev_start + prev->size > keys[i] >> 32)
            return false;
    }
    return true;
}

static bool within_pool(const struct id_pool *pool, uint32_t first, uint32_t size)
{
    size_t r = pool_range_index(pool, first);
    return r < pool->n && pool->r[r].first <= first &&
           (uint64_t)first + size <= (uint64_t)pool->r[r].first + pool->r[r].count;
}

static bool maps(const struct id_mapping *m, uint32_t id)
{
    for (size_t i = 0; i < m->n; i++)
        if (id >= m->e[i].container_id && id - m->e[i].container_id < m->e[i].size)
            return true;
    return false;
}

static int failures;

#define PROPERTY(cond, what)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            if (failures++ < 5)                                                \
                fprintf(stderr, "  case %zu: %s\n", case_no, what);            \
            CHECK(cond);                                                       \
            return;                                                            \
        }                                                                      \
    } while (0)

static void check_properties(size_t case_no, const struct id_pool *pool,
                             const uint32_t *req, size_t nreq, const uint32_t *extra,
                             size_t nextra, const struct id_plan *plan)
{
    const struct id_mapping *m = &plan->map;
    uint64_t mapped = 0;
    PROPERTY(m->n <= IDMAP_MAX_EXTENTS, "more than 340 extents");
    for (size_t i = 0; i < m->n; i++) {
        const struct id_extent *e = &m->e[i];
        mapped += e->size;
        PROPERTY(e->size > 0, "empty extent");
        PROPERTY(within_pool(pool, e->host_id, e->size), "host range outside the pool");
        PROPERTY((uint64_t)e->container_id + e->size - 1 <= IDMAP_MAX_ID,
                 "container range past the largest ID");
        if (i > 0) {
            const struct id_extent *p = &m->e[i - 1];
            PROPERTY(p->container_id < e->container_id, "not sorted by container ID");
            PROPERTY(!((uint64_t)p->container_id + p->size == e->container_id &&
                       (uint64_t)p->host_id + p->size == e->host_id),
                     "not maximally merged");
        }
    }
    PROPERTY(disjoint(m, false), "container ranges overlap");
    PROPERTY(disjoint(m, true), "host ranges overlap");
    for (size_t i = 0; i < nreq; i++)
        PROPERTY(maps(m, req[i]), "a required ID is unmapped");
    for (size_t i = 0; i < nextra; i++)
        PROPERTY(maps(m, extra[i]), "an extra ID is unmapped");
    /* a pool ID is unmapped exactly when displaced: the map covers the pool */
    PROPERTY(mapped == pool->size, "the map does not cover the pool once");
    for (size_t i = 0; i < plan->ncollisions; i++)
        PROPERTY(!maps(m, plan->collisions[i].container_id), "a displaced ID is mapped");

    struct id_plan again;
    PROPERTY(plan_map(pool, req, nreq, extra, nextra, &again) == PLAN_OK, "not deterministic");
    bool same = again.map.n == m->n &&
                memcmp(again.map.e, m->e, m->n * sizeof(*m->e)) == 0 &&
                again.ncollisions == plan->ncollisions &&
                (plan->ncollisions == 0 ||
                 memcmp(again.collisions, plan->collisions,
                        plan->ncollisions * sizeof(*plan->collisions)) == 0);
    id_plan_release(&again);
    PROPERTY(same, "not deterministic");

    /* what the kernel would be given passes the kernel's rules */
    char text[16384], err[256];
    struct id_mapping reread;
    PROPERTY(idmap_format(m, text, sizeof(text)) >= 0, "map text does not fit");
    PROPERTY(idmap_parse(text, &reread, err, sizeof(err)) == 0, err);
}

/* ---- random inputs ---- */

/* nranges ranges of up to maxlen IDs with random gaps, from base on. */
static void random_pool(struct id_pool *pool, size_t nranges, uint64_t base,
                        uint64_t maxgap, uint64_t maxlen)
{
    struct id_pool p = {0};
    uint64_t at = base;
    for (size_t i = 0; i < nranges; i++) {
        at += i ? 1 + below(maxgap) : 0;
        uint64_t len = 1 + below(maxlen);
        if (at > IDMAP_MAX_ID)
            break;
        if (at + len - 1 > IDMAP_MAX_ID)
            len = IDMAP_MAX_ID - at + 1;
        p.r[p.n++] = (struct id_range){(uint32_t)at, (uint32_t)len};
        p.size += len;
        at += len;
    }
    *pool = p;
}

static uint32_t random_id(const struct id_pool *pool)
{
    static const uint32_t famous[] = {0, 1, 101, 1000, 2047, 2048, 65532, 65534,
                                      1000650000, IDMAP_MAX_ID};
    switch (below(4)) {
    case 0: { /* in the pool, or just beside a range */
        const struct id_range *r = &pool->r[below(pool->n)];
        uint64_t id = (uint64_t)r->first + below(r->count + 2);
        if (id > 0 && below(4) == 0)
            id = r->first - 1;
        return id > IDMAP_MAX_ID ? IDMAP_MAX_ID : (uint32_t)id;
    }
    case 1:
        return famous[below(sizeof(famous) / sizeof(famous[0]))];
    case 2:
        return (uint32_t)below(300);
    default:
        return (uint32_t)below((uint64_t)IDMAP_MAX_ID + 1);
    }
}

/* Random required and extra IDs, with duplicates now and then. */
static void random_ids(const struct id_pool *pool, uint32_t *req, size_t *nreq,
                       uint32_t *extra, size_t *nextra)
{
    *nreq = 1 + below(6);
    *nextra = below(MAX_IDS - 6 + 1);
    for (size_t i = 0; i < *nreq; i++)
        req[i] = i > 0 && below(5) == 0 ? req[below(i)] : random_id(pool);
    for (size_t i = 0; i < *nextra; i++)
        extra[i] = below(5) == 0 ? req[below(*nreq)] : random_id(pool);
}

static bool same_plan(const struct id_plan *p, const struct ref_result *r)
{
    if (p->map.n != r->map.n || p->ncollisions != r->ncollisions)
        return false;
    for (size_t i = 0; i < r->map.n; i++)
        if (p->map.e[i].container_id != r->map.e[i].container_id ||
            p->map.e[i].host_id != r->map.e[i].host_id || p->map.e[i].size != r->map.e[i].size)
            return false;
    for (size_t i = 0; i < r->ncollisions; i++)
        if (p->collisions[i].container_id != r->collisions[i].container_id ||
            p->collisions[i].host_id != r->collisions[i].host_id ||
            p->collisions[i].displaced_by != r->collisions[i].displaced_by)
            return false;
    return true;
}

static void show_case(const struct id_pool *pool, const uint32_t *req, size_t nreq,
                      const uint32_t *extra, size_t nextra)
{
    char spec[8192];
    if (pool_format(pool, spec, sizeof(spec)) < 0)
        strcpy(spec, "(long)");
    fprintf(stderr, "    pool %s\n    required", spec);
    for (size_t i = 0; i < nreq; i++)
        fprintf(stderr, " %u", req[i]);
    fprintf(stderr, "\n    extra");
    for (size_t i = 0; i < nextra; i++)
        fprintf(stderr, " %u", extra[i]);
    fprintf(stderr, "\n");
}

TEST(small_pools_match_the_reference)
{
    size_t status_seen[PLAN_INVALID_ID + 1] = {0}, collisions = 0;
    for (size_t case_no = 0; case_no < SMALL_CASES; case_no++) {
        struct id_pool pool;
        uint32_t req[MAX_IDS], extra[MAX_IDS];
        size_t nreq, nextra;
        /* Each draw in its own statement: argument evaluation order is
         * unspecified, and a seed must mean the same cases with any compiler. */
        if (below(20) == 0) { /* many small ranges: the 340-extent limit */
            size_t nranges = 300 + below(60);
            uint64_t base = below(1000);
            random_pool(&pool, nranges, base, 2, 2);
        } else { /* a few ranges, low or at the top of the ID space */
            size_t nranges = 1 + below(6);
            uint64_t base = below(3) ? below(500) : IDMAP_MAX_ID - below(200);
            uint64_t maxgap = 1 + below(40);
            random_pool(&pool, nranges, base, maxgap, 1 + below(30));
        }
        random_ids(&pool, req, &nreq, extra, &nextra);

        struct id_plan plan;
        struct ref_result want;
        enum plan_status st = plan_map(&pool, req, nreq, extra, nextra, &plan);
        reference_plan(&pool, req, nreq, extra, nextra, &want);
        status_seen[st]++;
        if (st != want.status || (st == PLAN_OK && !same_plan(&plan, &want))) {
            if (failures++ < 5) {
                fprintf(stderr, "  case %zu: status %d, reference %d, or maps differ\n",
                        case_no, st, want.status);
                show_case(&pool, req, nreq, extra, nextra);
            }
            CHECK(0);
        }
        if (st == PLAN_OK) {
            collisions += plan.ncollisions;
            check_properties(case_no, &pool, req, nreq, extra, nextra, &plan);
            id_plan_release(&plan);
        }
    }
    printf("  %d small cases: %zu planned (%zu collisions), %zu too many IDs, "
           "%zu too many extents\n",
           SMALL_CASES, status_seen[PLAN_OK], collisions, status_seen[PLAN_TOO_MANY_IDS],
           status_seen[PLAN_TOO_MANY_EXTENTS]);
    /* the generator must reach every outcome, or the comparison proves little */
    CHECK(status_seen[PLAN_OK] > SMALL_CASES / 2);
    CHECK(status_seen[PLAN_TOO_MANY_IDS] > 0);
    CHECK(status_seen[PLAN_TOO_MANY_EXTENTS] > 0);
    CHECK(collisions > SMALL_CASES / 2);
}

TEST(large_pools_have_the_properties)
{
    size_t planned = 0;
    for (size_t case_no = 0; case_no < LARGE_CASES; case_no++) {
        struct id_pool pool;
        uint32_t req[MAX_IDS], extra[MAX_IDS];
        size_t nreq, nextra;
        if (below(10) == 0)
            pool = (struct id_pool){.n = 1, .r = {{0, (uint32_t)IDMAP_MAX_ID + 1}},
                                    .size = (uint64_t)IDMAP_MAX_ID + 1};
        else {
            /* Half the pools are small enough that their maps always fit
             * in one page (120 lines of at most 33 bytes); the rest reach
             * the 340-line and one-page limits. */
            size_t nranges = 1 + below(below(2) ? 120 : IDMAP_MAX_EXTENTS);
            uint64_t base = below(1u << 31);
            uint64_t maxgap = 1 + below(1u << 22);
            random_pool(&pool, nranges, base, maxgap, 1 + below(1u << 22));
        }
        random_ids(&pool, req, &nreq, extra, &nextra);
        struct id_plan plan;
        enum plan_status st = plan_map(&pool, req, nreq, extra, nextra, &plan);
        CHECK(st == PLAN_OK || st == PLAN_TOO_MANY_EXTENTS || st == PLAN_MAP_TOO_LONG);
        if (st == PLAN_OK) {
            planned++;
            check_properties(case_no, &pool, req, nreq, extra, nextra, &plan);
            id_plan_release(&plan);
        }
    }
    printf("  %d large cases: %zu planned\n", LARGE_CASES, planned);
    CHECK(planned > LARGE_CASES / 2);
}

int main(void)
{
    const char *env = getenv("UNIT_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : 20261203;
    printf("  seed %llu (UNIT_SEED=N repeats a run)\n", (unsigned long long)seed);
    rng_state = seed;
    RUN(small_pools_match_the_reference);
    RUN(large_pools_have_the_properties);
    return unit_done();
}

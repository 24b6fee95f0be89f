/* The mapping rule on hand-checked cases (design notes, "The mapping rule"). */
#include <stdlib.h>

#include "policy/plan.h"
#include "unit.h"

struct plan_case {
    const char *name;
    const char *map;      /* the plugin's own uid_map: its first column is the pool */
    const char *narrow;   /* optional pool ranges */
    const char *required; /* ID list */
    const char *extra;    /* ID list */
    enum plan_status status;
    const char *want_map;        /* uid_map text */
    const char *want_collisions; /* "displaced>by " for each, in order */
};

static const struct plan_case cases[] = {
    {"issue example: contiguous pool, distroless nonroot", "0 1000 2048", NULL, "65532", "",
     PLAN_OK, "0 0 2044\n2045 2045 3\n65532 2044 1\n", "2044>65532 "},
    {"usernetes pool: root mapped alone, then the subuids", "0 1000 1\n1 100000 2047", NULL,
     "65532", "", PLAN_OK, "0 0 2044\n2045 2045 3\n65532 2044 1\n", "2044>65532 "},
    {"required ID inside the pool keeps identity", "0 1000 2048", NULL, "1000", "", PLAN_OK,
     "0 0 2048\n", ""},
    {"no required IDs: the identity of the pool", "0 1000 10\n100 5000 10", NULL, "", "",
     PLAN_OK, "0 0 10\n100 100 10\n", ""},
    {"sparse pool: home is the (c mod P)-th pool ID", "0 1000 10\n100 5000 10", NULL,
     "65532", "", PLAN_OK, "0 0 10\n100 100 2\n103 103 7\n65532 102 1\n", "102>65532 "},
    {"narrowed pool", "0 0 4294967295", "0-2047,65520-65535", "1000650000", "", PLAN_OK,
     "0 0 96\n97 97 1951\n65520 65520 16\n1000650000 96 1\n", "96>1000650000 "},
    {"colliding gids probe forward in order", "0 0 10", NULL, "10,20,30", "", PLAN_OK,
     "3 3 7\n10 0 1\n20 1 1\n30 2 1\n", "0>10 1>20 2>30 "},
    {"inside IDs reserve their slots before any probing", "0 0 10", NULL, "15,5", "",
     PLAN_OK, "0 0 6\n7 7 3\n15 6 1\n", "6>15 "},
    {"probing wraps around the end of the pool", "0 0 10", NULL, "9,19", "", PLAN_OK,
     "1 1 9\n19 0 1\n", "0>19 "},
    {"outside IDs on consecutive slots merge", "0 0 2048", NULL, "2048,2049", "", PLAN_OK,
     "2 2 2046\n2048 0 2\n", "0>2048 1>2049 "},
    {"extras after required; duplicates and IDs in R dropped", "0 0 2048", NULL,
     "65532,65532", "65534,0,65532,65534", PLAN_OK,
     "0 0 2044\n2045 2045 1\n2047 2047 1\n65532 2044 1\n65534 2046 1\n",
     "2044>65532 2046>65534 "},
    {"extras probe past required IDs' slots", "0 0 10", NULL, "20", "30", PLAN_OK,
     "2 2 8\n20 0 1\n30 1 1\n", "0>20 1>30 "},
    {"pool at the top of the ID space", "0 0 4294967295", "4294967290-4294967294", "0,7",
     "", PLAN_OK, "0 4294967290 1\n7 4294967292 1\n4294967291 4294967291 1\n"
                  "4294967293 4294967293 2\n",
     "4294967290>0 4294967292>7 "},
    {"the largest pool costs nothing more", "0 0 4294967295", NULL, "65532", "1000650000",
     PLAN_OK, "0 0 4294967295\n", ""},
    {"as many IDs as the pool holds", "0 0 2", NULL, "4,5", "", PLAN_OK, "4 0 2\n",
     "0>4 1>5 "},
    {"more IDs than the pool holds", "0 0 2", NULL, "5,6", "7", PLAN_TOO_MANY_IDS, NULL, NULL},
    {"duplicates do not count twice", "0 0 2", NULL, "4,5,4", "5", PLAN_OK, "4 0 2\n",
     "0>4 1>5 "},
    {"homes follow c mod P, not the order of the IDs", "0 0 2", NULL, "5,6", "", PLAN_OK,
     "5 1 1\n6 0 1\n", "1>5 0>6 "},
    {"empty map", "", NULL, "0", "", PLAN_EMPTY_POOL, NULL, NULL},
    {"narrowed to nothing", "0 0 10", "100-200", "0", "", PLAN_EMPTY_POOL, NULL, NULL},
};

static char *collisions_text(const struct id_plan *p)
{
    static char buf[4096];
    char *s = buf;
    buf[0] = '\0';
    for (size_t i = 0; i < p->ncollisions; i++) {
        const struct id_collision *c = &p->collisions[i];
        if (c->container_id != c->host_id)
            return "(containerID != hostID)";
        s += sprintf(s, "%u>%u ", c->container_id, c->displaced_by);
    }
    return buf;
}

static void pool_of(const char *map, const char *narrow, struct id_pool *pool)
{
    struct id_mapping m;
    char err[256];
    CHECK_EQ_U(idmap_parse(map, &m, err, sizeof(err)), 0);
    pool_from_mapping(&m, pool);
    if (narrow) {
        struct id_pool n;
        CHECK_EQ_U(pool_parse_ranges(narrow, &n, err, sizeof(err)), 0);
        pool_intersect(pool, &n);
    }
}

static void run_case(const struct plan_case *c)
{
    struct id_pool pool;
    uint32_t *req, *extra;
    size_t nreq, nextra;
    char err[256];
    pool_of(c->map, c->narrow, &pool);
    CHECK_EQ_U(id_list_parse(c->required, &req, &nreq, err, sizeof(err)), 0);
    CHECK_EQ_U(id_list_parse(c->extra, &extra, &nextra, err, sizeof(err)), 0);

    struct id_plan plan;
    enum plan_status st = plan_map(&pool, req, nreq, extra, nextra, &plan);
    if (st != c->status)
        fprintf(stderr, "  case \"%s\": status %s\n", c->name, plan_strerror(st));
    CHECK_EQ_U(st, c->status);
    if (st == PLAN_OK && c->want_map) {
        char text[8192];
        CHECK(idmap_format(&plan.map, text, sizeof(text)) > 0 || plan.map.n == 0);
        if (strcmp(text, c->want_map) != 0 ||
            strcmp(collisions_text(&plan), c->want_collisions) != 0) {
            fprintf(stderr, "  case \"%s\":\n    map %s\n    collisions %s\n", c->name,
                    text, collisions_text(&plan));
            CHECK(0);
        }
    }
    id_plan_release(&plan);
    free(req);
    free(extra);
}

TEST(table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* "0-2,4-6,...": nranges ranges of three IDs, one ID apart. */
static void triples_pool(size_t nranges, struct id_pool *pool)
{
    char spec[8192], *s = spec;
    char err[256];
    for (size_t i = 0; i < nranges; i++)
        s += sprintf(s, "%s%zu-%zu", i ? "," : "", 4 * i, 4 * i + 2);
    CHECK_EQ_U(pool_parse_ranges(spec, pool, err, sizeof(err)), 0);
}

TEST(the_340_extent_limit)
{
    struct id_pool pool;
    struct id_plan plan;
    /* 340 pool ranges map as 340 extents */
    triples_pool(IDMAP_MAX_EXTENTS, &pool);
    CHECK_EQ_U(plan_map(&pool, NULL, 0, NULL, 0, &plan), PLAN_OK);
    CHECK_EQ_U(plan.map.n, IDMAP_MAX_EXTENTS);
    id_plan_release(&plan);

    /* An outside ID homed on a range's middle ID splits it: 341 + 1 extents */
    uint32_t mid = (uint32_t)(pool.size * 100 + 1); /* home slot 1 = ID 1 */
    CHECK_EQ_U(plan_map(&pool, &mid, 1, NULL, 0, &plan), PLAN_TOO_MANY_EXTENTS);
    CHECK(plan.collisions == NULL);

    /* Two ranges fewer leave room for exactly that */
    triples_pool(IDMAP_MAX_EXTENTS - 2, &pool);
    mid = (uint32_t)(pool.size * 100 + 1);
    CHECK_EQ_U(plan_map(&pool, &mid, 1, NULL, 0, &plan), PLAN_OK);
    CHECK_EQ_U(plan.map.n, IDMAP_MAX_EXTENTS);
    CHECK_EQ_U(plan.ncollisions, 1);
    CHECK_EQ_U(plan.collisions[0].container_id, 1);
    id_plan_release(&plan);
}

/* The kernel takes a map in one write shorter than a page: 200 ranges of
 * ten-digit IDs are under 340 lines but about 4800 bytes of text. */
TEST(the_one_page_limit)
{
    char spec[8192], *s = spec, err[256];
    for (size_t i = 0; i < 200; i++)
        s += sprintf(s, "%s%zu-%zu", i ? "," : "", 4000000000u + 4 * i, 4000000000u + 4 * i + 2);
    struct id_pool pool;
    struct id_plan plan;
    CHECK_EQ_U(pool_parse_ranges(spec, &pool, err, sizeof(err)), 0);
    CHECK_EQ_U(plan_map(&pool, NULL, 0, NULL, 0, &plan), PLAN_MAP_TOO_LONG);
    CHECK(plan.collisions == NULL);

    /* 150 such ranges (3600 bytes) still fit */
    s = spec;
    for (size_t i = 0; i < 150; i++)
        s += sprintf(s, "%s%zu-%zu", i ? "," : "", 4000000000u + 4 * i, 4000000000u + 4 * i + 2);
    CHECK_EQ_U(pool_parse_ranges(spec, &pool, err, sizeof(err)), 0);
    CHECK_EQ_U(plan_map(&pool, NULL, 0, NULL, 0, &plan), PLAN_OK);
    CHECK_EQ_U(plan.map.n, 150);
    id_plan_release(&plan);
}

TEST(the_invalid_id_is_refused)
{
    struct id_pool pool;
    struct id_plan plan;
    uint32_t bad = UINT32_MAX, ok = 0;
    pool_of("0 0 4294967295", NULL, &pool);
    CHECK_EQ_U(plan_map(&pool, &bad, 1, NULL, 0, &plan), PLAN_INVALID_ID);
    CHECK_EQ_U(plan_map(&pool, &ok, 1, &bad, 1, &plan), PLAN_INVALID_ID);
}

TEST(every_status_has_a_message)
{
    for (int s = PLAN_OK; s <= PLAN_MAP_TOO_LONG; s++)
        CHECK(strcmp(plan_strerror((enum plan_status)s), "unknown plan status") != 0);
}

int main(void)
{
    RUN(table);
    RUN(the_340_extent_limit);
    RUN(the_one_page_limit);
    RUN(the_invalid_id_is_refused);
    RUN(every_status_has_a_message);
    return unit_done();
}

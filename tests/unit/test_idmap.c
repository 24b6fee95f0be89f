/* uid_map text, pools and ID lists: parsing, validation, set operations. */
#include <stdlib.h>

#include "policy/idmap.h"
#include "unit.h"

static char *repeat_lines(size_t n)
{
    char *s = malloc(n * 24 + 1), *p = s;
    for (size_t i = 0; i < n; i++) /* disjoint, non-adjacent: nothing merges */
        p += sprintf(p, "%zu %zu 1\n", 2 * i, 2 * i);
    *p = '\0';
    return s;
}

static const char *formatted(const struct id_mapping *m)
{
    static char buf[16384];
    if (idmap_format(m, buf, sizeof(buf)) < 0)
        return "(does not fit)";
    return buf;
}

TEST(parse_accepts_kernel_and_hand_written_maps)
{
    static const struct {
        const char *text, *normalized;
    } cases[] = {
        {"0 1000 2048\n", "0 1000 2048\n"},
        {"         0          0 4294967295\n", "0 0 4294967295\n"},
        {"", ""},
        {"\n \t\n", ""},
        /* tabs, CRLF, no final newline, unsorted: sorted by the first column */
        {"\t5\t100\t\t3\r\n0 1000 5", "0 1000 5\n5 100 3\n"},
        /* runs continuing in both columns merge */
        {"0 0 1\n\n  \n1 1 1", "0 0 2\n"},
        /* the usernetes shape: contiguous inside, not outside: two lines */
        {"0 1000 1\n1 100000 2047\n", "0 1000 1\n1 100000 2047\n"},
        {"0 4294967294 1\n4294967294 0 1\n", "0 4294967294 1\n4294967294 0 1\n"},
        {"007 08 9\n", "7 8 9\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct id_mapping m;
        char err[256] = "";
        CHECK_EQ_U(idmap_parse(cases[i].text, &m, err, sizeof(err)), 0);
        CHECK_STR(formatted(&m), cases[i].normalized);
    }
}

TEST(parse_rejects_bad_maps_naming_the_line)
{
    static const struct {
        const char *text, *error;
    } cases[] = {
        {"0 1000\n", "line 1: expected three"},
        {"0 0 1\n0 1000 x\n", "line 2: expected three"},
        {"0 0 1\n\n0 1000 1 4\n", "line 3: expected three"},
        {"0,0,1\n", "line 1: expected three"},
        {"0 0 1x\n", "line 1: expected three"},
        {"-1 0 1\n", "line 1: expected three"},
        {"+1 0 1\n", "line 1: expected three"},
        {"0 0 4294967296\n", "line 1: expected three"},
        {"0 0 99999999999999999999\n", "line 1: expected three"},
        {"0 0 0\n", "line 1: the count is 0"},
        {"4294967295 0 1\n", "line 1: the range goes past 4294967294"},
        {"0 4294967295 1\n", "line 1: the range goes past"},
        {"1 0 4294967295\n", "line 1: the range goes past"},
        {"0 0 10\n5 100 2\n", "line 2: its first-column range overlaps line 1's"},
        {"100 5 2\n0 0 10\n", "line 2: its second-column range overlaps line 1's"},
        {"0 0 1\n7 7 1\n5 1000 3\n", "line 3: its first-column range overlaps line 2's"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct id_mapping m;
        char err[256] = "";
        CHECK_EQ_U(idmap_parse(cases[i].text, &m, err, sizeof(err)), (uint64_t)-1);
        if (strncmp(err, cases[i].error, strlen(cases[i].error)) != 0) {
            fprintf(stderr, "  case %zu: error \"%s\" does not start with \"%s\"\n", i, err,
                    cases[i].error);
            CHECK(0);
        }
    }
}

TEST(parse_holds_the_kernel_limit_of_340_lines)
{
    struct id_mapping m;
    char err[256] = "";
    char *ok = repeat_lines(IDMAP_MAX_EXTENTS), *over = repeat_lines(IDMAP_MAX_EXTENTS + 1);
    CHECK_EQ_U(idmap_parse(ok, &m, err, sizeof(err)), 0);
    CHECK_EQ_U(m.n, IDMAP_MAX_EXTENTS);
    CHECK_EQ_U(idmap_parse(over, &m, err, sizeof(err)), (uint64_t)-1);
    CHECK_STR(err, "line 341: more than 340 ranges (the kernel's limit)");
    free(ok);
    free(over);
}

TEST(format_round_trips_and_reports_a_short_buffer)
{
    struct id_mapping m;
    char err[256], buf[64];
    CHECK_EQ_U(idmap_parse("0 0 2044\n65532 2044 1\n2045 2045 3\n", &m, err, sizeof(err)), 0);
    CHECK_EQ_U(idmap_format(&m, buf, sizeof(buf)), strlen("0 0 2044\n2045 2045 3\n65532 2044 1\n"));
    CHECK_STR(buf, "0 0 2044\n2045 2045 3\n65532 2044 1\n");
    CHECK_EQ_U(idmap_format(&m, buf, 20), (uint64_t)-1);
    CHECK_EQ_U(idmap_format(&m, buf, 0), (uint64_t)-1);
}

TEST(text_len_is_the_formatted_length)
{
    static const char *const maps[] = {
        "0 0 2044\n65532 2044 1\n2045 2045 3\n",
        "0 0 4294967295\n",
        "9 9 1\n10 10 1\n99 4294967294 1\n100 100 900\n",
        "",
    };
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        struct id_mapping m;
        char err[256], buf[256];
        CHECK_EQ_U(idmap_parse(maps[i], &m, err, sizeof(err)), 0);
        CHECK_EQ_U(idmap_text_len(&m), idmap_format(&m, buf, sizeof(buf)));
    }
}

static const char *pool_text(const struct id_pool *p)
{
    static char buf[16384];
    if (pool_format(p, buf, sizeof(buf)) < 0)
        return "(does not fit)";
    return buf;
}

TEST(pool_of_a_map_is_the_union_of_its_first_column)
{
    static const struct {
        const char *map, *pool;
        uint64_t size;
    } cases[] = {
        {"0 1000 2048\n", "0-2047", 2048},
        {"0 1000 1\n1 100000 2047\n", "0-2047", 2048}, /* usernetes */
        {"0 0 4294967295\n", "0-4294967294", 4294967295u},
        {"65520 9000 16\n0 1000 2048\n7000 5000 1\n", "0-2047,7000,65520-65535", 2065},
        {"", "", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct id_mapping m;
        struct id_pool p;
        char err[256];
        CHECK_EQ_U(idmap_parse(cases[i].map, &m, err, sizeof(err)), 0);
        pool_from_mapping(&m, &p);
        CHECK_STR(pool_text(&p), cases[i].pool);
        CHECK_EQ_U(p.size, cases[i].size);
    }
}

TEST(pool_ranges_parse_and_unite)
{
    static const struct {
        const char *spec, *pool;
        uint64_t size;
    } cases[] = {
        {"0-2047,65520-65535", "0-2047,65520-65535", 2064},
        {"5", "5", 1},
        {"10-20,15-30,31,40-40", "10-31,40", 23},
        {"65520-65535,0-2047", "0-2047,65520-65535", 2064},
        {"0-4294967294", "0-4294967294", 4294967295u},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct id_pool p;
        char err[256] = "";
        CHECK_EQ_U(pool_parse_ranges(cases[i].spec, &p, err, sizeof(err)), 0);
        CHECK_STR(pool_text(&p), cases[i].pool);
        CHECK_EQ_U(p.size, cases[i].size);
    }
    static const struct {
        const char *spec, *error;
    } bad[] = {
        {"", "pool range 1 \"\""},
        {"a", "pool range 1 \"a\""},
        {"5-", "pool range 1 \"5-\""},
        {"-5", "pool range 1 \"-5\""},
        {"0-10,7-3", "pool range 2 \"7-3\""},
        {"0-4294967295", "pool range 1 \"0-4294967295\""},
        {"4294967295", "pool range 1"},
        {"1,,2", "pool range 2 \"\""},
        {"1,2,", "pool range 3 \"\""},
        {"1-2-3", "pool range 1 \"1-2-3\""},
        {" 1", "pool range 1 \" 1\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct id_pool p;
        char err[256] = "";
        CHECK_EQ_U(pool_parse_ranges(bad[i].spec, &p, err, sizeof(err)), (uint64_t)-1);
        if (strncmp(err, bad[i].error, strlen(bad[i].error)) != 0) {
            fprintf(stderr, "  bad[%zu]: \"%s\" does not start with \"%s\"\n", i, err,
                    bad[i].error);
            CHECK(0);
        }
    }
}

TEST(pool_ranges_hold_at_most_340_ranges)
{
    char *spec = malloc(IDMAP_MAX_EXTENTS * 12 + 16), *p = spec;
    for (int i = 0; i <= IDMAP_MAX_EXTENTS; i++)
        p += sprintf(p, "%s%d", i ? "," : "", 2 * i);
    struct id_pool pool;
    char err[256] = "";
    CHECK_EQ_U(pool_parse_ranges(spec, &pool, err, sizeof(err)), (uint64_t)-1);
    CHECK_STR(err, "the pool ranges need more than 340 separate ranges");
    *strrchr(spec, ',') = '\0';
    CHECK_EQ_U(pool_parse_ranges(spec, &pool, err, sizeof(err)), 0);
    CHECK_EQ_U(pool.n, IDMAP_MAX_EXTENTS);
    free(spec);
}

TEST(pool_intersect_narrows)
{
    static const struct {
        const char *a, *b, *result;
    } cases[] = {
        {"0-2047,65520-65535", "1000-70000", "1000-2047,65520-65535"},
        {"0-2047", "0-2047", "0-2047"},
        {"0-2047", "2048-4095", ""},
        {"0-4294967294", "5,4294967294", "5,4294967294"},
        {"0-9,20-29,40-49", "5-24,28-45", "5-9,20-24,28-29,40-45"},
        {"5-24,28-45", "0-9,20-29,40-49", "5-9,20-24,28-29,40-45"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct id_pool a, b;
        char err[256];
        CHECK_EQ_U(pool_parse_ranges(cases[i].a, &a, err, sizeof(err)), 0);
        CHECK_EQ_U(pool_parse_ranges(cases[i].b, &b, err, sizeof(err)), 0);
        uint64_t want = 0;
        pool_intersect(&a, &b);
        CHECK_STR(pool_text(&a), cases[i].result);
        for (size_t j = 0; j < a.n; j++)
            want += a.r[j].count;
        CHECK_EQ_U(a.size, want);
    }
}

TEST(pool_intersect_of_two_full_pools_fits)
{
    /* 340 ranges against 340 interleaved ones: 679 pieces, the worst case */
    char a_spec[8192], b_spec[8192];
    char *a = a_spec, *b = b_spec;
    for (int i = 0; i < IDMAP_MAX_EXTENTS; i++) {
        a += sprintf(a, "%s%d-%d", i ? "," : "", 10 * i, 10 * i + 5);
        b += sprintf(b, "%s%d-%d", i ? "," : "", 10 * i + 3, 10 * i + 11);
    }
    struct id_pool pa, pb;
    char err[256];
    CHECK_EQ_U(pool_parse_ranges(a_spec, &pa, err, sizeof(err)), 0);
    CHECK_EQ_U(pool_parse_ranges(b_spec, &pb, err, sizeof(err)), 0);
    pool_intersect(&pa, &pb);
    CHECK_EQ_U(pa.n, 2 * IDMAP_MAX_EXTENTS - 1);
    CHECK_EQ_U(pa.size, 3 * IDMAP_MAX_EXTENTS + 2 * (IDMAP_MAX_EXTENTS - 1));
}

TEST(pool_contains_checks_range_edges)
{
    struct id_pool p;
    char err[256];
    CHECK_EQ_U(pool_parse_ranges("10-19,30,4294967290-4294967294", &p, err, sizeof(err)), 0);
    static const struct {
        uint32_t id;
        int in;
    } cases[] = {{0, 0}, {9, 0}, {10, 1}, {19, 1}, {20, 0}, {29, 0}, {30, 1},
                 {31, 0}, {4294967289u, 0}, {4294967290u, 1}, {4294967294u, 1},
                 {4294967295u, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ_U(pool_contains(&p, cases[i].id), cases[i].in);
}

TEST(id_lists_parse)
{
    uint32_t *ids;
    size_t n;
    char err[256] = "";
    CHECK_EQ_U(id_list_parse("0,65534,1000650000", &ids, &n, err, sizeof(err)), 0);
    CHECK_EQ_U(n, 3);
    CHECK_EQ_U(ids[0], 0);
    CHECK_EQ_U(ids[1], 65534);
    CHECK_EQ_U(ids[2], 1000650000);
    free(ids);
    CHECK_EQ_U(id_list_parse("4294967294,4294967294", &ids, &n, err, sizeof(err)), 0);
    CHECK_EQ_U(n, 2);
    free(ids);
    CHECK_EQ_U(id_list_parse("", &ids, &n, err, sizeof(err)), 0);
    CHECK_EQ_U(n, 0);
    CHECK(ids == NULL);
    static const struct {
        const char *s, *error;
    } bad[] = {
        {"1,", "\"\" is not an ID"},
        {",1", "\"\" is not an ID"},
        {"4294967295", "\"4294967295\" is not an ID (a decimal number 0-4294967294)"},
        {"1 2", "\"1 2\" is not an ID"},
        {"5,x", "\"x\" is not an ID"},
        {"-1", "\"-1\" is not an ID"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ_U(id_list_parse(bad[i].s, &ids, &n, err, sizeof(err)), (uint64_t)-1);
        CHECK(ids == NULL);
        if (strncmp(err, bad[i].error, strlen(bad[i].error)) != 0) {
            fprintf(stderr, "  bad[%zu]: \"%s\" does not start with \"%s\"\n", i, err,
                    bad[i].error);
            CHECK(0);
        }
    }
}

int main(void)
{
    RUN(parse_accepts_kernel_and_hand_written_maps);
    RUN(parse_rejects_bad_maps_naming_the_line);
    RUN(parse_holds_the_kernel_limit_of_340_lines);
    RUN(format_round_trips_and_reports_a_short_buffer);
    RUN(text_len_is_the_formatted_length);
    RUN(pool_of_a_map_is_the_union_of_its_first_column);
    RUN(pool_ranges_parse_and_unite);
    RUN(pool_ranges_hold_at_most_340_ranges);
    RUN(pool_intersect_narrows);
    RUN(pool_intersect_of_two_full_pools_fits);
    RUN(pool_contains_checks_range_edges);
    RUN(id_lists_parse);
    return unit_done();
}

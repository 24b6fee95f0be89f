/* The audit's building blocks on their own: path cleaning, the JSON reader,
 * user resolution, the merged-tree rules and the map suggestion. */
#include <stdlib.h>

#include "audit/census.h"
#include "audit/json.h"
#include "audit/path.h"
#include "audit/suggest.h"
#include "audit/tree.h"
#include "audit/userdb.h"
#include "unit.h"

static const char *clean(const char *in)
{
    static char out[64];
    return path_clean(in, out, sizeof(out)) == 0 ? out : "(too long)";
}

TEST(path_clean_is_lexical_and_stays_below_the_root)
{
    CHECK_STR(clean("./etc//passwd"), "etc/passwd");
    CHECK_STR(clean("/usr/bin/"), "usr/bin");
    CHECK_STR(clean("a/./b/../c"), "a/c");
    CHECK_STR(clean("../../etc/shadow"), "etc/shadow");
    CHECK_STR(clean("./"), "");
    CHECK_STR(clean("a/.."), "");
    CHECK_STR(clean(".wh..wh..opq"), ".wh..wh..opq");
    char longer[100];
    memset(longer, 'x', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    CHECK_STR(clean(longer), "(too long)");
}

static const char *follow(const char *link, const char *target)
{
    static char out[64];
    return path_follow(link, target, out, sizeof(out)) == 0 ? out : "(too long)";
}

TEST(path_follow_resolves_symlink_targets)
{
    CHECK_STR(follow("etc/group", "../usr/lib/group"), "usr/lib/group");
    CHECK_STR(follow("etc/passwd", "/usr/share/passwd"), "usr/share/passwd");
    CHECK_STR(follow("etc/passwd", "passwd.real"), "etc/passwd.real");
    CHECK_STR(follow("passwd", "../../x"), "x");
    CHECK_STR(follow("1/layer.tar", "../2/layer.tar"), "2/layer.tar");
}

TEST(json_reads_manifests)
{
    const char *text = " {\"a\": [1, -2.5e3, true, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\","
                       " \"s\": \"last\", \"o\": {}} ";
    struct audit_error err;
    struct json *v = json_parse(text, strlen(text), &err);
    CHECK(v != NULL);
    if (!v)
        return;
    const struct json *a = json_get(v, "a");
    CHECK(a && a->type == JSON_ARRAY && a->child->num == 1 && a->child->next->num == -2500);
    CHECK(a && a->child->next->next->type == JSON_BOOL && a->child->next->next->boolean);
    CHECK_STR(json_get_str(v, "s"), "last");
    CHECK(json_get(v, "o") && json_get(v, "o")->type == JSON_OBJECT);
    CHECK(json_get_str(v, "a") == NULL);
    CHECK(json_get(a, "x") == NULL);
    json_free(v);

    const char *e = "{\"s\":\"x\\u00e9\\ud83d\\ude00\\n\"}";
    v = json_parse(e, strlen(e), &err);
    CHECK(v && strcmp(json_get_str(v, "s"), "x\xc3\xa9\xf0\x9f\x98\x80\n") == 0);
    json_free(v);
}

TEST(json_refuses_malformed_text)
{
    static const char *const bad[] = {
        "",         "{",          "[1,]",        "{\"a\" 1}", "{\"a\":1,}", "\"abc",
        "\"\\x\"",  "\"\\u0000\"", "\"\\udc00\"", "\"\x01\"",  "01",        "1.",
        "[1] [2]",  "tru",        "{1:2}",       "\"\\ud800\"",
    };
    struct audit_error err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct json *v = json_parse(bad[i], strlen(bad[i]), &err);
        if (v)
            fprintf(stderr, "  accepted: %s\n", bad[i]);
        CHECK(v == NULL);
        json_free(v);
    }
    char deep[200];
    memset(deep, '[', sizeof(deep));
    CHECK(json_parse(deep, sizeof(deep), &err) == NULL);
    CHECK(strstr(err.msg, "nested too deeply") != NULL);
}

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "# comment\n"
                             "nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"
                             "app:x:1000:2000::/app:/bin/sh\n"
                             "broken:x:notanumber:1::/:/bin/sh\n";
static const char group[] = "root:x:0:\n"
                            "nonroot:x:65532:\n"
                            "appgrp:x:2000:\n"
                            "video:x:44:app,nonroot\n"
                            "audio:x:29:app\n";

static int resolve(const char *spec, const char *pw, const char *gr, struct image_user *u)
{
    struct audit_error err;
    return userdb_resolve(spec, pw, gr, u, &err);
}

TEST(userdb_resolves_like_the_runtime)
{
    struct image_user u;
    CHECK(resolve("", passwd, group, &u) == 0 && u.uid == 0 && u.gid == 0 && u.n_groups == 0);
    CHECK(resolve("nonroot", passwd, group, &u) == 0 && u.uid == 65532 && u.gid == 65532);
    CHECK(u.n_groups == 1 && u.groups[0] == 44);
    CHECK(resolve("1000", passwd, group, &u) == 0 && u.uid == 1000 && u.gid == 2000);
    CHECK(u.n_groups == 2 && u.groups[0] == 44 && u.groups[1] == 29);
    CHECK(resolve("app:video", passwd, group, &u) == 0 && u.uid == 1000 && u.gid == 44);
    CHECK(u.n_groups == 1 && u.groups[0] == 29); /* 44 is now the primary gid */
    CHECK(resolve("1000650000", passwd, group, &u) == 0 && u.uid == 1000650000 && u.gid == 0);
    CHECK(resolve("1000650000:1000650000", NULL, NULL, &u) == 0 && u.uid == 1000650000 &&
          u.gid == 1000650000);
    CHECK(resolve(":appgrp", passwd, group, &u) == 0 && u.uid == 0 && u.gid == 2000);
    CHECK(resolve("65532:5", NULL, NULL, &u) == 0 && u.uid == 65532 && u.gid == 5);
}

TEST(userdb_refuses_unknown_names_and_bad_numbers)
{
    struct image_user u;
    CHECK(resolve("ghost", passwd, group, &u) == -1);
    CHECK(resolve("nonroot", NULL, NULL, &u) == -1);
    CHECK(resolve("nonroot:nogroup", passwd, group, &u) == -1);
    CHECK(resolve("4294967295", passwd, group, &u) == -1);
    CHECK(resolve("broken", passwd, group, &u) == -1);
    CHECK(resolve("-1", passwd, group, &u) == -1);
}

static bool ranges_are(const struct suggestion *s, const uint32_t *want, size_t n)
{
    if (s->n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s->r[i].first != want[2 * i] || s->r[i].count != want[2 * i + 1])
            return false;
    return true;
}

TEST(suggest_prefers_a_long_low_range)
{
    static struct suggestion s;
    const uint32_t ids[] = {0, 101, 1000, 65532, 1000650000};
    CHECK(suggest_ranges(ids, 5, 2048, &s) == SUGGEST_OK);
    CHECK(ranges_are(&s, (const uint32_t[]){0, 2046, 65532, 1, 1000650000, 1}, 3));
    /* 1000 no longer fits in the low range with 1001 IDs: it is a single. */
    CHECK(suggest_ranges(ids, 5, 1001, &s) == SUGGEST_OK);
    CHECK(ranges_are(&s, (const uint32_t[]){0, 998, 1000, 1, 65532, 1, 1000650000, 1}, 4));
    CHECK(suggest_ranges(ids, 5, 5, &s) == SUGGEST_OK);
    CHECK(ranges_are(&s, (const uint32_t[]){0, 1, 101, 1, 1000, 1, 65532, 1, 1000650000, 1}, 5));
    CHECK(suggest_ranges(ids, 5, 4, &s) == SUGGEST_TOO_MANY_IDS);
    CHECK_EQ_U(s.first_unfit, 4); /* 1000650000 does not fit */
    const uint32_t adjacent[] = {0, 65532, 65533, 65534};
    CHECK(suggest_ranges(adjacent, 4, 10, &s) == SUGGEST_OK);
    CHECK(ranges_are(&s, (const uint32_t[]){0, 7, 65532, 3}, 2));
    const uint32_t root[] = {0};
    CHECK(suggest_ranges(root, 1, 1, &s) == SUGGEST_OK);
    CHECK(ranges_are(&s, (const uint32_t[]){0, 1}, 1));
}

TEST(suggest_respects_the_kernel_extent_limit)
{
    static struct suggestion s;
    uint32_t ids[401];
    ids[0] = 0;
    for (uint32_t i = 1; i < 401; i++)
        ids[i] = 100000 + 2 * i; /* 400 IDs no two adjacent */
    CHECK(suggest_ranges(ids, 401, 1000, &s) == SUGGEST_TOO_MANY_EXTENTS);
    CHECK(suggest_ranges(ids, 401, 200000, &s) == SUGGEST_OK); /* all in the low range */
    CHECK(ranges_are(&s, (const uint32_t[]){0, 200000}, 1));
}

static uint32_t owner_of(struct tree *t, const char *path)
{
    struct node *n = tree_find(t, path);
    return n ? n->uid : 99999;
}

TEST(tree_applies_layers_in_order)
{
    struct tree *t = tree_new();
    /* layer 1 */
    tree_put(t, "a", NODE_DIR, 1, 1, 1);
    tree_put(t, "a/f", NODE_FILE, 2, 2, 1);
    tree_put(t, "a/d/g", NODE_FILE, 3, 3, 1);
    tree_put(t, "file", NODE_FILE, 4, 4, 1);
    /* layer 2: opaque a keeps this layer's a/new and a/d/h; a/d (lower,
     * implicit parent of a/d/h) stays as a parent only */
    tree_put(t, "a/new", NODE_FILE, 5, 5, 2);
    tree_put(t, "a/d/h", NODE_FILE, 6, 6, 2);
    tree_opaque(t, "a", 2);
    /* a whiteout of this layer's own entry does nothing */
    tree_whiteout(t, "a/new", 2);
    /* a path below a file turns the file into a directory */
    tree_put(t, "file/x", NODE_FILE, 7, 7, 2);
    CHECK(tree_find(t, "a/f") == NULL);
    CHECK(tree_find(t, "a/d/g") == NULL);
    CHECK_EQ_U(owner_of(t, "a/new"), 5);
    CHECK_EQ_U(owner_of(t, "a/d/h"), 6);
    CHECK(tree_find(t, "a/d") && tree_find(t, "a/d")->kind == NODE_IMPLICIT);
    CHECK(tree_find(t, "file") && tree_find(t, "file")->kind == NODE_IMPLICIT);
    /* layer 3: a file over directory a drops all below it */
    tree_put(t, "a", NODE_FILE, 8, 8, 3);
    CHECK(tree_find(t, "a/new") == NULL);
    tree_whiteout(t, "file", 3);
    CHECK(tree_find(t, "file/x") == NULL && tree_find(t, "file") == NULL);

    struct id_census uids, gids;
    CHECK(census_take(t, &uids, &gids) == 0);
    /* left: a (8) only; the root was never listed */
    CHECK_EQ_U(uids.n, 1);
    CHECK(uids.n == 1 && uids.v[0].id == 8 && uids.v[0].entries == 1);
    CHECK(uids.n == 1 && strcmp(uids.v[0].example, "/a") == 0);
    census_free(&uids);
    census_free(&gids);
    tree_free(t);
}

TEST(tree_counts_each_path_once_and_sorts_ids)
{
    struct tree *t = tree_new();
    tree_put(t, "", NODE_DIR, 0, 0, 1);
    for (uint32_t i = 0; i < 5000; i++) {
        char p[32];
        snprintf(p, sizeof(p), "d%u/f", i % 50);
        tree_put(t, p, NODE_FILE, 5000 - i % 50, 7, 1); /* rewritten 100 times */
    }
    struct id_census uids, gids;
    CHECK(census_take(t, &uids, &gids) == 0);
    CHECK_EQ_U(uids.n, 51);
    CHECK(uids.v[0].id == 0 && strcmp(uids.v[0].example, "/") == 0);
    CHECK(uids.v[1].id == 4951 && uids.v[1].entries == 1 && strcmp(uids.v[1].example, "/d49/f") == 0);
    CHECK_EQ_U(gids.n, 2);
    CHECK(gids.v[1].id == 7 && gids.v[1].entries == 50);
    census_free(&uids);
    census_free(&gids);
    tree_free(t);
}

int main(void)
{
    RUN(path_clean_is_lexical_and_stays_below_the_root);
    RUN(path_follow_resolves_symlink_targets);
    RUN(json_reads_manifests);
    RUN(json_refuses_malformed_text);
    RUN(userdb_resolves_like_the_runtime);
    RUN(userdb_refuses_unknown_names_and_bad_numbers);
    RUN(suggest_prefers_a_long_low_range);
    RUN(suggest_respects_the_kernel_extent_limit);
    RUN(tree_applies_layers_in_order);
    RUN(tree_counts_each_path_once_and_sorts_ids);
    return unit_done();
}

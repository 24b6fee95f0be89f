#include "audit/report.h"

#include <inttypes.h>
#include <stdbool.h>

#include "common/json_out.h"

static const char *const kind_name[] = {[ID_UID] = "uid", [ID_GID] = "gid"};

/* Names from images (paths, tags) are untrusted: control bytes are shown
 * as \xHH so a crafted file name cannot rewrite the operator's terminal. */
static void text_name(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}

static void json_ids(FILE *out, const struct id_list *l)
{
    fputc('[', out);
    for (size_t i = 0; i < l->n; i++)
        fprintf(out, "%s%" PRIu32, i ? "," : "", l->v[i]);
    fputc(']', out);
}

static void json_census(FILE *out, const struct id_census *c)
{
    fputc('{', out);
    for (size_t i = 0; i < c->n; i++)
        fprintf(out, "%s\"%" PRIu32 "\":%" PRIu64, i ? "," : "", c->v[i].id, c->v[i].entries);
    fputc('}', out);
}

void report_json(FILE *out, const struct audit_set *set, const struct verdict *v)
{
    fputs("{\"images\":[", out);
    for (size_t i = 0; i < set->n; i++) {
        const struct image_audit *a = &set->v[i];
        fputs(i ? ",{\"ref\":" : "{\"ref\":", out);
        json_put_string(out, a->ref);
        fprintf(out, ",\"user\":{\"uid\":%" PRIu32 ",\"gid\":%" PRIu32 "},\"uids\":",
                a->user.uid, a->user.gid);
        json_census(out, &a->uids);
        fputs(",\"gids\":", out);
        json_census(out, &a->gids);
        fputc('}', out);
    }
    fprintf(out, "],\"covered\":%s,\"missing\":{\"uids\":",
            v->missing_uids.n || v->missing_gids.n ? "false" : "true");
    json_ids(out, &v->missing_uids);
    fputs(",\"gids\":", out);
    json_ids(out, &v->missing_gids);
    fputs("}}\n", out);
}

static void pool_text(FILE *out, const struct id_pool *pool)
{
    char buf[16384];
    if (pool_format(pool, buf, sizeof(buf)) < 0)
        fprintf(out, "(%zu ranges, %" PRIu64 " IDs)", pool->n, pool->size);
    else
        fputs(pool->n ? buf : "(empty)", out);
}

static bool in_list(const struct id_list *l, uint32_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == id)
            return true;
    return false;
}

static void image_user_text(FILE *out, const struct image_audit *a)
{
    fprintf(out, "  user: ");
    json_put_string(out, a->user_spec[0] ? a->user_spec : "");
    fprintf(out, "%s -> uid %" PRIu32 ", gid %" PRIu32, a->user_spec[0] ? "" : " (root)",
            a->user.uid, a->user.gid);
    for (size_t i = 0; i < a->user.n_groups; i++)
        fprintf(out, "%s%" PRIu32, i ? "," : ", supplementary gids ", a->user.groups[i]);
    fputc('\n', out);
}

static void census_text(FILE *out, const struct image_audit *a, enum id_kind kind,
                        const struct id_list *missing)
{
    const struct id_census *c = image_census(a, kind);
    fprintf(out, "  %ss owning entries:\n", kind_name[kind]);
    for (size_t i = 0; i < c->n; i++) {
        fprintf(out, "    %10" PRIu32 " %9" PRIu64 " %-5s e.g. ", c->v[i].id, c->v[i].entries,
                c->v[i].entries == 1 ? "entry" : "entries");
        text_name(out, c->v[i].example);
        fputs(in_list(missing, c->v[i].id) ? "   <- outside the pool\n" : "\n", out);
    }
}

/* Does the image need IDs of the missing list? Lists them in words when out
 * is not NULL. */
static bool image_gaps(const struct image_audit *a, enum id_kind kind,
                       const struct id_list *missing, FILE *out)
{
    bool any = false;
    const struct id_census *c = image_census(a, kind);
    for (size_t i = 0; i < missing->n; i++) {
        uint32_t id = missing->v[i];
        const struct id_count *owned = census_find(c, id);
        bool user = image_user_has(a, kind, id);
        if (!owned && !user)
            continue;
        any = true;
        if (!out)
            break;
        fprintf(out, "    %s %" PRIu32 ":", kind_name[kind], id);
        if (owned) {
            fprintf(out, " owns %" PRIu64 " %s (e.g. ", owned->entries,
                    owned->entries == 1 ? "entry" : "entries");
            text_name(out, owned->example);
            fputc(')', out);
        }
        if (user)
            fprintf(out, "%s%s", owned ? ";" : "",
                    kind == ID_UID ? " the image runs as this uid"
                                   : " the image's user has this gid");
        fputc('\n', out);
    }
    return any;
}

void report_text(FILE *out, const struct audit_set *set, const struct verdict *v)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct image_audit *a = &set->v[i];
        text_name(out, a->ref);
        fputc('\n', out);
        image_user_text(out, a);
        census_text(out, a, ID_UID, &v->missing_uids);
        census_text(out, a, ID_GID, &v->missing_gids);
        if (image_gaps(a, ID_UID, &v->missing_uids, NULL) ||
            image_gaps(a, ID_GID, &v->missing_gids, NULL)) {
            fputs("  verdict: NOT covered; outside the pool:\n", out);
            image_gaps(a, ID_UID, &v->missing_uids, out);
            image_gaps(a, ID_GID, &v->missing_gids, out);
        } else {
            fputs("  verdict: covered\n", out);
        }
        fputc('\n', out);
    }
    fputs("uid pool: ", out);
    pool_text(out, v->uid_pool);
    fputs("\ngid pool: ", out);
    pool_text(out, v->gid_pool);
    if (!v->missing_uids.n && !v->missing_gids.n) {
        fprintf(out, "\ncovered: the pools hold every ID the %zu image%s need%s\n", set->n,
                set->n == 1 ? "" : "s", set->n == 1 ? "s" : "");
        return;
    }
    fputs("\nNOT covered: missing uids ", out);
    for (size_t i = 0; i < v->missing_uids.n; i++)
        fprintf(out, "%s%" PRIu32, i ? "," : "", v->missing_uids.v[i]);
    fputs(v->missing_uids.n ? "; missing gids " : "(none); missing gids ", out);
    for (size_t i = 0; i < v->missing_gids.n; i++)
        fprintf(out, "%s%" PRIu32, i ? "," : "", v->missing_gids.v[i]);
    fputs(v->missing_gids.n ? "\n" : "(none)\n", out);
    fputs("  Start the node with a map that holds them ('uid-mapper audit --suggest-map SIZE "
          "IMAGE...'),\n  or remove them from the images.\n",
          out);
}

static void ranges_text(FILE *out, const struct suggestion *s)
{
    for (size_t i = 0; i < s->n; i++) {
        fprintf(out, "%s%" PRIu32, i ? "," : "", s->r[i].first);
        if (s->r[i].count > 1)
            fprintf(out, "-%" PRIu64, (uint64_t)s->r[i].first + s->r[i].count - 1);
    }
}

void report_suggest_text(FILE *out, const struct id_list need[2], const struct suggestion s[2],
                         uint64_t size)
{
    for (int k = ID_UID; k <= ID_GID; k++) {
        fprintf(out, "%ss the images need (%zu, with 0):", kind_name[k], need[k].n);
        for (size_t i = 0; i < need[k].n; i++)
            fprintf(out, " %" PRIu32, need[k].v[i]);
        fprintf(out, "\nsuggested %s ranges (%" PRIu64 " IDs): ", kind_name[k], size);
        ranges_text(out, &s[k]);
        fputc('\n', out);
    }
    fputs("\npodman arguments for the node container (the second number counts from 0 in\n"
          "podman's rootless namespace: 0 is your own uid/gid, then your /etc/subuid\n"
          "and /etc/subgid ranges):\n ",
          out);
    for (int k = ID_UID; k <= ID_GID; k++) {
        uint64_t host = 0;
        for (size_t i = 0; i < s[k].n; i++) {
            fprintf(out, " --%smap %" PRIu32 ":%" PRIu64 ":%" PRIu32, kind_name[k],
                    s[k].r[i].first, host, s[k].r[i].count);
            host += s[k].r[i].count;
        }
    }
    fputc('\n', out);
    for (int k = ID_UID; k <= ID_GID; k++) {
        fprintf(out, "\nthe node's /proc/self/%s_map (what the plugin reads as its pool):\n",
                kind_name[k]);
        uint64_t host = 0;
        for (size_t i = 0; i < s[k].n; i++) {
            fprintf(out, "%10" PRIu32 " %10" PRIu64 " %10" PRIu32 "\n", s[k].r[i].first, host,
                    s[k].r[i].count);
            host += s[k].r[i].count;
        }
    }
}

void report_suggest_json(FILE *out, const struct suggestion s[2])
{
    for (int k = ID_UID; k <= ID_GID; k++) {
        fputs(k == ID_UID ? "{\"uidRanges\":[" : ",\"gidRanges\":[", out);
        for (size_t i = 0; i < s[k].n; i++)
            fprintf(out, "%s[%" PRIu32 ",%" PRIu32 "]", i ? "," : "", s[k].r[i].first,
                    s[k].r[i].count);
        fputc(']', out);
    }
    fputs("}\n", out);
}

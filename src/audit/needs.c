#include "audit/needs.h"

#include <stdlib.h>

const struct id_census *image_census(const struct image_audit *a, enum id_kind kind)
{
    return kind == ID_UID ? &a->uids : &a->gids;
}

bool image_user_has(const struct image_audit *a, enum id_kind kind, uint32_t id)
{
    if (kind == ID_UID)
        return a->user.uid == id;
    if (a->user.gid == id)
        return true;
    for (size_t i = 0; i < a->user.n_groups; i++)
        if (a->user.groups[i] == id)
            return true;
    return false;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static bool push(struct id_list *l, size_t *cap, uint32_t id, const struct id_pool *pool)
{
    if (pool && pool_contains(pool, id))
        return true;
    if (l->n == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 64;
        uint32_t *grown = realloc(l->v, grown_cap * sizeof(*grown));
        if (!grown)
            return false;
        l->v = grown;
        *cap = grown_cap;
    }
    l->v[l->n++] = id;
    return true;
}

int needs_collect(const struct audit_set *set, enum id_kind kind, bool with_root,
                  const struct id_pool *pool, struct id_list *out)
{
    size_t cap = 0;
    bool ok = true;
    *out = (struct id_list){0};
    if (with_root)
        ok = push(out, &cap, 0, pool);
    for (size_t i = 0; ok && i < set->n; i++) {
        const struct image_audit *a = &set->v[i];
        const struct id_census *c = image_census(a, kind);
        for (size_t j = 0; ok && j < c->n; j++)
            ok = push(out, &cap, c->v[j].id, pool);
        ok = ok && push(out, &cap, kind == ID_UID ? a->user.uid : a->user.gid, pool);
        for (size_t j = 0; ok && kind == ID_GID && j < a->user.n_groups; j++)
            ok = push(out, &cap, a->user.groups[j], pool);
    }
    if (!ok) {
        id_list_free(out);
        return -1;
    }
    if (out->n == 0)
        return 0;
    qsort(out->v, out->n, sizeof(*out->v), by_value);
    size_t kept = 1;
    for (size_t i = 1; i < out->n; i++)
        if (out->v[i] != out->v[kept - 1])
            out->v[kept++] = out->v[i];
    out->n = kept;
    return 0;
}

void id_list_free(struct id_list *l)
{
    free(l->v);
    *l = (struct id_list){0};
}

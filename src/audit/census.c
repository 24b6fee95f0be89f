#include "audit/census.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* While counting, IDs are found through an open-addressing index so an image
 * with many distinct owners costs O(entries), not O(entries x owners). */
struct counter {
    struct id_census *c;
    size_t cap;
    size_t *slots; /* index into c->v plus one; 0 = empty */
    size_t n_slots;
};

static size_t slot_of(uint32_t id, size_t n_slots)
{
    return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & (n_slots - 1);
}

static bool rehash(struct counter *k, size_t n_slots)
{
    size_t *slots = calloc(n_slots, sizeof(*slots));
    if (!slots)
        return false;
    for (size_t i = 0; i < k->c->n; i++) {
        size_t s = slot_of(k->c->v[i].id, n_slots);
        while (slots[s])
            s = (s + 1) & (n_slots - 1);
        slots[s] = i + 1;
    }
    free(k->slots);
    k->slots = slots;
    k->n_slots = n_slots;
    return true;
}

static bool count(struct counter *k, uint32_t id, const struct node *n)
{
    size_t s = slot_of(id, k->n_slots);
    for (; k->slots[s]; s = (s + 1) & (k->n_slots - 1)) {
        struct id_count *hit = &k->c->v[k->slots[s] - 1];
        if (hit->id == id) {
            hit->entries++;
            return true;
        }
    }
    char path[PATH_MAX * 2];
    if (k->c->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        struct id_count *v = realloc(k->c->v, cap * sizeof(*v));
        if (!v)
            return false;
        k->c->v = v;
        k->cap = cap;
    }
    struct id_count *new = &k->c->v[k->c->n];
    *new = (struct id_count){.id = id, .entries = 1};
    if (node_path(n, path, sizeof(path)) != 0)
        strcpy(path, "(path too long)");
    if (!(new->example = strdup(path)))
        return false;
    k->slots[s] = ++k->c->n;
    return k->c->n * 2 < k->n_slots || rehash(k, k->n_slots * 2);
}

static int by_id(const void *a, const void *b)
{
    const struct id_count *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int census_take(struct tree *t, struct id_census *uids, struct id_census *gids)
{
    struct counter ku = {.c = uids}, kg = {.c = gids};
    *uids = *gids = (struct id_census){0};
    bool ok = rehash(&ku, 64) && rehash(&kg, 64);
    for (struct node *n = tree_root(t); n && ok; n = tree_next(n))
        if (n->kind != NODE_IMPLICIT)
            ok = count(&ku, n->uid, n) && count(&kg, n->gid, n);
    free(ku.slots);
    free(kg.slots);
    if (!ok) {
        census_free(uids);
        census_free(gids);
        return -1;
    }
    if (uids->n) /* v is NULL when empty, which qsort may not be given */
        qsort(uids->v, uids->n, sizeof(*uids->v), by_id);
    if (gids->n)
        qsort(gids->v, gids->n, sizeof(*gids->v), by_id);
    return 0;
}

void census_free(struct id_census *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].example);
    free(c->v);
    *c = (struct id_census){0};
}

const struct id_count *census_find(const struct id_census *c, uint32_t id)
{
    struct id_count key = {.id = id};
    return c->n ? bsearch(&key, c->v, c->n, sizeof(key), by_id) : NULL;
}

/* Who owns what in a merged image: for each uid (or gid), how many entries
 * it owns and the first one found, in walk order. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "audit/tree.h"

struct id_count {
    uint32_t id;
    uint64_t entries;
    char *example; /* absolute path */
};

struct id_census {
    struct id_count *v; /* sorted by id */
    size_t n;
};

/* Counts every explicit entry of the tree (files, directories, symlinks,
 * hard links; not directories that only exist as parents of something).
 * Returns 0, or -1 when out of memory. */
int census_take(struct tree *t, struct id_census *uids, struct id_census *gids);
void census_free(struct id_census *c);

/* The count for id, or NULL. */
const struct id_count *census_find(const struct id_census *c, uint32_t id);

/* The IDs a set of audited images needs mapped: every owner of an entry,
 * and each image user's uid (for uids) or gid and supplementary gids (for
 * gids), which must be mapped even when they own no file. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "policy/idmap.h"

enum id_kind { ID_UID, ID_GID };

struct id_list {
    uint32_t *v; /* sorted, distinct */
    size_t n;
};

/* The census of one image for the kind. */
const struct id_census *image_census(const struct image_audit *a, enum id_kind kind);

/* Is id the image user's uid (ID_UID), or its gid or a supplementary gid? */
bool image_user_has(const struct image_audit *a, enum id_kind kind, uint32_t id);

/* Collects the needed IDs of all images (plus 0 when with_root), and keeps
 * those outside pool when pool is not NULL. Returns 0, or -1 when out of
 * memory. */
int needs_collect(const struct audit_set *set, enum id_kind kind, bool with_root,
                  const struct id_pool *pool, struct id_list *out);
void id_list_free(struct id_list *l);

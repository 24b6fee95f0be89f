/* The mapping rule (design notes, "The mapping rule"): which pool ID each
 * container ID maps to. Pure computation, no I/O; the cost depends on the
 * number of pool ranges and required IDs, never on the pool size. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "policy/idmap.h"

/* A pool ID whose identity slot was taken by an ID from outside the pool:
 * container_id (== host_id) is unmapped in the container. */
struct id_collision {
    uint32_t container_id, host_id, displaced_by;
};

struct id_plan {
    struct id_mapping map;
    size_t ncollisions;
    struct id_collision *collisions; /* in the order the rule placed them */
};

enum plan_status {
    PLAN_OK = 0,
    PLAN_EMPTY_POOL,
    PLAN_TOO_MANY_IDS,     /* |required ∪ extra| > pool size */
    PLAN_TOO_MANY_EXTENTS, /* the map would need more than 340 lines */
    PLAN_NO_MEMORY,
    PLAN_INVALID_ID, /* an ID above IDMAP_MAX_ID, which no map can hold */
    PLAN_MAP_TOO_LONG, /* the map text would exceed IDMAP_MAX_TEXT bytes */
};

/* Computes the map for one container. required: the uid, or the gid then
 * the supplementary gids, in order (duplicates allowed); extra: configured
 * IDs always mapped. Duplicates, and extras already required, count once.
 * On PLAN_OK, out must be released with id_plan_release; on any other status
 * out holds nothing to release (releasing it anyway is harmless). */
enum plan_status plan_map(const struct id_pool *pool,
                          const uint32_t *required, size_t nrequired,
                          const uint32_t *extra, size_t nextra,
                          struct id_plan *out);

void id_plan_release(struct id_plan *p); /* frees collisions */

const char *plan_strerror(enum plan_status s);

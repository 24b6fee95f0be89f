/* ID ranges, pools and mappings: the vocabulary of the policy layer.
 * Pure data and pure functions; no I/O. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The kernel accepts at most this many lines in uid_map/gid_map (since 4.15). */
#define IDMAP_MAX_EXTENTS 340

/* A range of IDs [first, first + count). count >= 1 and the range ends at or
 * below 2^32 - 1 (IDs are 32-bit; (uid_t)-1 is never a valid ID). */
struct id_range {
    uint32_t first;
    uint32_t count;
};

/* A set of IDs as sorted, disjoint, non-adjacent ranges. */
struct id_pool {
    size_t n;
    struct id_range r[IDMAP_MAX_EXTENTS];
    uint64_t size; /* total number of IDs */
};

/* One line of a uid_map/gid_map: container_id host_id size. */
struct id_extent {
    uint32_t container_id;
    uint32_t host_id;
    uint32_t size;
};

/* A complete uid or gid map, sorted by container_id, adjacent runs merged. */
struct id_mapping {
    size_t n;
    struct id_extent e[IDMAP_MAX_EXTENTS];
};

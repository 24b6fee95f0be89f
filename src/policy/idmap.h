/* ID ranges, pools and mappings: the vocabulary of the policy layer.
 * Pure data and pure functions; no I/O. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The kernel accepts at most this many lines in uid_map/gid_map (since 4.15). */
#define IDMAP_MAX_EXTENTS 340
/* ...and takes a map in a single write shorter than a page (4096 bytes on
 * the architectures containerd supports), so a long map of large IDs can be
 * refused even under 340 lines. */
#define IDMAP_MAX_TEXT 4095

/* The largest valid ID: (uid_t)-1 means "no ID" to the kernel. */
#define IDMAP_MAX_ID UINT32_C(4294967294)

/* A pool is built from at most IDMAP_MAX_EXTENTS ranges and may be narrowed
 * once by another such set; the intersection of two sets of n and m ranges
 * has at most n + m - 1 ranges, so this is enough for every pool the module
 * builds. */
#define IDMAP_POOL_MAX_RANGES (2 * IDMAP_MAX_EXTENTS)

/* A range of IDs [first, first + count). count >= 1 and the range ends at or
 * below 2^32 - 1 (IDs are 32-bit; (uid_t)-1 is never a valid ID). */
struct id_range {
    uint32_t first;
    uint32_t count;
};

/* A set of IDs as sorted, disjoint, non-adjacent ranges. */
struct id_pool {
    size_t n;
    struct id_range r[IDMAP_POOL_MAX_RANGES];
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

/* Parses uid_map/gid_map text: up to IDMAP_MAX_EXTENTS lines of three
 * decimal numbers separated by any whitespace. Rejects malformed lines, zero
 * counts, ranges past IDMAP_MAX_ID and ranges overlapping in either column.
 * The result is sorted by container_id with adjacent runs merged.
 * Returns 0, or -1 with err naming the offending line. */
int idmap_parse(const char *text, struct id_mapping *out, char *err, size_t errlen);

/* Merges neighbours among n extents sorted by container_id that continue
 * each other in both columns, in place; returns the new count. */
size_t idmap_merge_runs(struct id_extent *e, size_t n);

/* The pool of a map: union of its first-column (container_id) ranges, which
 * are the IDs valid inside the namespace the map belongs to. */
void pool_from_mapping(const struct id_mapping *m, struct id_pool *out);

/* The pool of uid_map/gid_map text: idmap_parse() then pool_from_mapping().
 * Returns 0, or -1 with err (the line at fault, or out of memory). */
int pool_from_map_text(const char *text, struct id_pool *out, char *err, size_t errlen);

/* Parses "0-2047,65520-65535" (single IDs "5" allowed; overlapping items are
 * united). At most IDMAP_MAX_EXTENTS ranges after uniting.
 * Returns 0, or -1 with err saying which item is wrong. */
int pool_parse_ranges(const char *spec, struct id_pool *out, char *err, size_t errlen);

/* pool := pool ∩ narrow. Both operands must hold at most IDMAP_MAX_EXTENTS
 * ranges (every pool the functions above build does). */
void pool_intersect(struct id_pool *pool, const struct id_pool *narrow);

/* The index of the first range of the pool that ends after id (pool->n if
 * none): the range that holds id, if any. O(log ranges). */
size_t pool_range_index(const struct id_pool *pool, uint32_t id);

/* Does the pool hold id? O(log ranges). */
int pool_contains(const struct id_pool *pool, uint32_t id);

/* Formats the pool as "0-2047,65520-65535" (the pool_parse_ranges syntax)
 * into buf; returns the length or -1 if it does not fit. */
int pool_format(const struct id_pool *pool, char *buf, size_t len);

/* Parses a comma-separated ID list "0,65534,1000650000"; *ids malloc'd
 * (NULL when the list is empty). Returns 0, or -1 with err. */
int id_list_parse(const char *s, uint32_t **ids, size_t *n, char *err, size_t errlen);

/* Formats a mapping as uid_map text ("C H N\n" lines) into buf; returns
 * the length or -1 if it does not fit. */
int idmap_format(const struct id_mapping *m, char *buf, size_t len);
/* The length of idmap_format's text for m, without writing it. */
size_t idmap_text_len(const struct id_mapping *m);

/* Suggesting a node map for a small ID allocation: ranges of at most SIZE IDs
 * in total that hold 0 and every ID the images need. The low range starts at
 * 0 and is made as long as the allocation allows once every needed higher ID
 * has a slot of its own, because unknown images mostly use small IDs (system
 * users, 1000); needed IDs above it are mapped one by one, adjacent ones
 * merged. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "policy/idmap.h"

enum suggest_result {
    SUGGEST_OK,
    SUGGEST_TOO_MANY_IDS,     /* more distinct IDs than SIZE */
    SUGGEST_TOO_MANY_EXTENTS, /* the high IDs need more map lines than the kernel takes */
};

struct suggestion {
    struct id_range r[IDMAP_MAX_EXTENTS]; /* sorted; r[0] starts at 0 */
    size_t n;
    /* On SUGGEST_TOO_MANY_IDS: the IDs left out (the highest ones), within
     * ids[] as given. */
    size_t first_unfit;
};

/* ids: sorted, distinct, holding 0. size: the allocation (>= 1). */
enum suggest_result suggest_ranges(const uint32_t *ids, size_t n, uint64_t size,
                                   struct suggestion *out);

#include "audit/suggest.h"

/* Number of ids >= bound. */
static size_t count_from(const uint32_t *ids, size_t n, uint64_t bound)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ids[mid] < bound)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n - lo;
}

enum suggest_result suggest_ranges(const uint32_t *ids, size_t n, uint64_t size,
                                   struct suggestion *out)
{
    out->n = 0;
    out->first_unfit = n;
    if (n > size) {
        out->first_unfit = (size_t)size;
        return SUGGEST_TOO_MANY_IDS;
    }
    /* cost(L) = L + (needed IDs >= L) is what a low range [0, L) plus one
     * slot per higher ID spends. It never decreases as L grows (each step
     * adds one ID and drops at most one single), so the longest affordable
     * low range is found by bisection. cost(1) = n <= size. */
    uint64_t lo = 1, hi = size;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if (mid + count_from(ids, n, mid) <= size)
            lo = mid;
        else
            hi = mid - 1;
    }
    out->r[out->n++] = (struct id_range){.first = 0, .count = (uint32_t)lo};
    for (size_t i = n - count_from(ids, n, lo); i < n; i++) {
        struct id_range *last = &out->r[out->n - 1];
        if ((uint64_t)last->first + last->count == ids[i]) {
            last->count++;
            continue;
        }
        if (out->n == IDMAP_MAX_EXTENTS) {
            out->n = 0;
            return SUGGEST_TOO_MANY_EXTENTS;
        }
        out->r[out->n++] = (struct id_range){.first = ids[i], .count = 1};
    }
    return SUGGEST_OK;
}

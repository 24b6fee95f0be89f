/* ns per plan_map call: the cost must follow the number of required IDs and
 * pool ranges, not the pool size. Prints numbers; never fails on timing. */
#include <stdio.h>
#include <time.h>

#include "policy/plan.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Plans repeatedly for about 200 ms; returns ns per plan, or -1 if the plan
 * fails (a broken benchmark, not a slow one). */
static double ns_per_plan(const struct id_pool *pool, const uint32_t *ids, size_t n)
{
    size_t iterations = 0;
    double start = now_ns(), elapsed;
    do {
        for (int i = 0; i < 64; i++, iterations++) {
            struct id_plan plan;
            if (plan_map(pool, ids, n, NULL, 0, &plan) != PLAN_OK)
                return -1;
            id_plan_release(&plan);
        }
        elapsed = now_ns() - start;
    } while (elapsed < 2e8);
    return elapsed / (double)iterations;
}

int main(void)
{
    const struct id_pool small = {.n = 1, .r = {{0, 2048}}, .size = 2048};
    const struct id_pool whole = {
        .n = 1, .r = {{0, (uint32_t)IDMAP_MAX_ID + 1}}, .size = (uint64_t)IDMAP_MAX_ID + 1};
    uint32_t one[] = {65532}, spread[64], same_home[64];
    for (uint32_t i = 0; i < 64; i++) {
        spread[i] = 65472 + i * 1000003u;  /* images' users: mostly outside a small pool */
        same_home[i] = 65536 + i * 2048u; /* all homed on slot 0: the longest probes */
    }
    const struct {
        const char *name;
        const struct id_pool *pool;
        const uint32_t *ids;
        size_t n;
    } cases[] = {
        {"pool 2048 IDs, 1 required", &small, one, 1},
        {"pool 2048 IDs, 64 required", &small, spread, 64},
        {"pool 4294967295 IDs, 1 required", &whole, one, 1},
        {"pool 4294967295 IDs, 64 required", &whole, spread, 64},
        {"pool 2048 IDs, 64 required on one home", &small, same_home, 64},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double ns = ns_per_plan(cases[i].pool, cases[i].ids, cases[i].n);
        if (ns < 0)
            printf("%-42s plan failed\n", cases[i].name);
        else
            printf("%-42s %10.0f ns/plan\n", cases[i].name, ns);
    }
    return 0;
}

/* A tiny table-friendly unit test harness.
 *   TEST(name) { CHECK(cond); CHECK_EQ_U(a, b); CHECK_STR(a, b); }
 *   int main(void) { RUN(name); ...; return unit_done(); }
 * Prints "PASS: file:name" / "FAIL: file:name" per test; tests/run-unit.sh and
 * tests/run-suites.sh count those lines. */
#pragma once
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failed_checks;
static int unit_failed_tests;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, \
                    #cond);                                                   \
            unit_failed_checks++;                                             \
        }                                                                     \
    } while (0)

#define CHECK_EQ_U(a, b)                                                      \
    do {                                                                      \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                      \
        if (a_ != b_) {                                                       \
            fprintf(stderr, "  %s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n", \
                    __FILE__, __LINE__, #a, #b, a_, b_);                      \
            unit_failed_checks++;                                             \
        }                                                                     \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char *a_ = (a), *b_ = (b);                                      \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                              \
            fprintf(stderr, "  %s:%d: %s == %s failed: \"%s\" != \"%s\"\n",   \
                    __FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)",           \
                    b_ ? b_ : "(null)");                                      \
            unit_failed_checks++;                                             \
        }                                                                     \
    } while (0)

#define RUN(name)                                                             \
    do {                                                                      \
        int before_ = unit_failed_checks;                                     \
        name();                                                               \
        int ok_ = unit_failed_checks == before_;                              \
        if (!ok_)                                                             \
            unit_failed_tests++;                                              \
        printf("%s: %s:%s\n", ok_ ? "PASS" : "FAIL", __FILE__, #name);        \
        fflush(stdout);                                                       \
    } while (0)

/* A test that cannot run here says so instead of passing silently. */
#define SKIP(name, why) printf("SKIP: %s:%s (%s)\n", __FILE__, #name, why)

/* RUN(name), or SKIP it when why (the reason it cannot run here) is set. */
#define RUN_UNLESS(why, name)                                                 \
    do {                                                                      \
        if (why)                                                              \
            SKIP(name, why);                                                  \
        else                                                                  \
            RUN(name);                                                        \
    } while (0)

static inline int unit_done(void) { return unit_failed_tests ? 1 : 0; }

/* Kernel acceptance: the maps plan_map produces are written into a real,
 * freshly unshared user namespace and read back unchanged. Needs root (the
 * writer must hold CAP_SETUID/CAP_SETGID over the pool IDs); skipped with a
 * message otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/plan.h"
#include "unit.h"

/* A child waiting in a new user namespace until released. */
struct userns_child {
    pid_t pid;
    int release; /* closing it lets the child exit */
};

static int start_child(struct userns_child *c)
{
    int ready[2], release[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(release, O_CLOEXEC) < 0) {
        int e = errno;
        close(ready[0]);
        close(ready[1]);
        return -e;
    }
    fflush(NULL);
    c->pid = fork();
    if (c->pid == 0) {
        close(ready[0]);
        close(release[1]);
        int e = unshare(CLONE_NEWUSER) < 0 ? errno : 0;
        if (write(ready[1], &e, sizeof(e)) != sizeof(e))
            _exit(1);
        char b;
        while (read(release[0], &b, 1) > 0)
            ;
        _exit(0);
    }
    int e = c->pid < 0 ? errno : 0;
    close(ready[1]);
    close(release[0]);
    if (e == 0 && read(ready[0], &e, sizeof(e)) != sizeof(e))
        e = EIO;
    close(ready[0]);
    c->release = release[1];
    if (e != 0) {
        close(c->release);
        if (c->pid > 0)
            waitpid(c->pid, NULL, 0);
        return -e;
    }
    return 0;
}

static void stop_child(struct userns_child *c)
{
    close(c->release);
    waitpid(c->pid, NULL, 0);
}

/* The kernel takes a whole map in one write. Returns 0 or -errno. */
static int write_map(pid_t pid, const char *file, const char *text)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int rc = n == (ssize_t)strlen(text) ? 0 : n < 0 ? -errno : -EIO;
    close(fd);
    return rc;
}

static int read_map(pid_t pid, const char *file, struct id_mapping *m)
{
    char path[64], text[32768], err[256];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    ssize_t n;
    while (len + 1 < sizeof(text) && (n = read(fd, text + len, sizeof(text) - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    text[len] = '\0';
    if (idmap_parse(text, m, err, sizeof(err)) < 0) {
        fprintf(stderr, "  %s: %s\n", path, err);
        return -1;
    }
    return 0;
}

static bool same_map(const struct id_mapping *a, const struct id_mapping *b)
{
    return a->n == b->n && memcmp(a->e, b->e, a->n * sizeof(*a->e)) == 0;
}

static struct id_pool own_uid_pool, own_gid_pool;

static bool load_own_pool(const char *path, struct id_pool *pool)
{
    struct id_mapping m;
    if (read_map(getpid(), path, &m) < 0)
        return false;
    pool_from_mapping(&m, pool);
    return true;
}

/* Is every ID of the narrowing in the test's own pool? One level down, as
 * root of a 2048-ID node, some of the cases' pools do not exist. */
static bool pool_within(const struct id_pool *own, const char *narrow)
{
    struct id_pool want, have = *own;
    char err[256];
    CHECK_EQ_U(pool_parse_ranges(narrow, &want, err, sizeof(err)), 0);
    pool_intersect(&have, &want);
    return have.size == want.size;
}

/* A plan for pool ∩ narrow; a pool that cannot be planned fails the test. */
static bool plan_in(const struct id_pool *own, const char *narrow, const char *required,
                    const char *extra, struct id_plan *plan)
{
    struct id_pool pool = *own, n;
    uint32_t *req, *ext;
    size_t nreq, next;
    char err[256];
    if (narrow) {
        CHECK_EQ_U(pool_parse_ranges(narrow, &n, err, sizeof(err)), 0);
        pool_intersect(&pool, &n);
    }
    CHECK_EQ_U(id_list_parse(required, &req, &nreq, err, sizeof(err)), 0);
    CHECK_EQ_U(id_list_parse(extra, &ext, &next, err, sizeof(err)), 0);
    enum plan_status st = plan_map(&pool, req, nreq, ext, next, plan);
    free(req);
    free(ext);
    if (st != PLAN_OK)
        fprintf(stderr, "  no plan for pool %s: %s\n", narrow ? narrow : "(own)",
                plan_strerror(st));
    CHECK(st == PLAN_OK);
    return st == PLAN_OK;
}

/* Writes both maps into a new user namespace and checks what the kernel
 * kept. */
static void check_kernel_takes(const struct id_mapping *uid, const struct id_mapping *gid)
{
    char uid_text[16384], gid_text[16384];
    CHECK(idmap_format(uid, uid_text, sizeof(uid_text)) > 0);
    CHECK(idmap_format(gid, gid_text, sizeof(gid_text)) > 0);
    struct userns_child c;
    int rc = start_child(&c);
    CHECK_EQ_U(rc, 0);
    if (rc < 0)
        return;
    struct id_mapping uid_back = {0}, gid_back = {0};
    int uid_rc = write_map(c.pid, "uid_map", uid_text);
    int gid_rc = write_map(c.pid, "gid_map", gid_text);
    if (uid_rc || gid_rc)
        fprintf(stderr, "  the kernel refused a map: %s\n", strerror(-(uid_rc ? uid_rc : gid_rc)));
    CHECK_EQ_U(uid_rc, 0);
    CHECK_EQ_U(gid_rc, 0);
    CHECK_EQ_U(read_map(c.pid, "uid_map", &uid_back), 0);
    CHECK_EQ_U(read_map(c.pid, "gid_map", &gid_back), 0);
    CHECK(same_map(uid, &uid_back));
    CHECK(same_map(gid, &gid_back));
    stop_child(&c);
}

struct kernel_case {
    const char *narrow; /* pool ranges within the test's own pool */
    const char *uid, *gids, *extra_uids, *extra_gids;
    size_t min_lines; /* the map must be at least this sparse */
};

static const struct kernel_case cases[] = {
    {"0-2047", "65532", "65532", "", "", 3},                    /* issue example */
    {"0-2047", "0", "0,65534,1000650000", "65534", "5,2048", 3},
    {"1000-1999,5000-5999,70000-70099", "1000650000", "101,2047", "0", "0", 4},
    {"100-599,1000-1499,2000-2047", "1000650000", "101,2047", "0", "0", 4},  /* fits a 2048-ID node */
    {"4294967290-4294967294", "0", "7,4294967294", "", "", 2},   /* the top of the ID space */
    {NULL, "65532", "65532", "", "", 1},                        /* the whole own pool */
};

TEST(kernel_accepts_planned_maps)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct kernel_case *k = &cases[i];
        if (k->narrow && !(pool_within(&own_uid_pool, k->narrow) &&
                           pool_within(&own_gid_pool, k->narrow))) {
            printf("SKIP: %s:kernel_accepts_planned_maps[%s] (not within this namespace's IDs)\n",
                   __FILE__, k->narrow);
            continue;
        }
        struct id_plan uid, gid;
        if (!plan_in(&own_uid_pool, k->narrow, k->uid, k->extra_uids, &uid))
            continue;
        if (plan_in(&own_gid_pool, k->narrow, k->gids, k->extra_gids, &gid)) {
            CHECK(uid.map.n >= k->min_lines);
            check_kernel_takes(&uid.map, &gid.map);
            id_plan_release(&gid);
        }
        id_plan_release(&uid);
    }
}

TEST(kernel_accepts_340_lines)
{
    /* 338 three-ID ranges; an outside ID splits the first: 339 + 1 lines */
    char narrow[8192], *s = narrow, required[16];
    for (int i = 0; i < IDMAP_MAX_EXTENTS - 2; i++)
        s += sprintf(s, "%s%d-%d", i ? "," : "", 4 * i, 4 * i + 2);
    snprintf(required, sizeof(required), "%d", 3 * (IDMAP_MAX_EXTENTS - 2) * 50 + 1);
    struct id_plan uid, gid;
    if (!plan_in(&own_uid_pool, narrow, required, "", &uid))
        return;
    if (plan_in(&own_gid_pool, narrow, required, "", &gid)) {
        CHECK_EQ_U(uid.map.n, IDMAP_MAX_EXTENTS);
        check_kernel_takes(&uid.map, &gid.map);
        id_plan_release(&gid);
    }
    id_plan_release(&uid);
}

/* The harness can tell a bad map: the naive "uid % 2048" wrap, whose host
 * ranges overlap, is refused (design notes, fact 1). */
TEST(kernel_refuses_the_modulo_wrap)
{
    struct userns_child c;
    if (start_child(&c) < 0) {
        CHECK(0);
        return;
    }
    CHECK_EQ_U(write_map(c.pid, "uid_map", "0 0 2048\n2048 0 2048\n"), -EINVAL);
    stop_child(&c);
}

int main(void)
{
    struct userns_child probe;
    const char *skip_reason = NULL;
    if (geteuid() != 0)
        skip_reason = "needs root to write another namespace's uid_map";
    else if (!load_own_pool("uid_map", &own_uid_pool) || !load_own_pool("gid_map", &own_gid_pool))
        skip_reason = "cannot read /proc/self/uid_map or gid_map";
    else if (start_child(&probe) < 0)
        skip_reason = "cannot unshare a user namespace here";
    else
        stop_child(&probe);
    if (skip_reason) { /* reported as skipped, not passed */
        SKIP(kernel_accepts_planned_maps, skip_reason);
        SKIP(kernel_accepts_340_lines, skip_reason);
        SKIP(kernel_refuses_the_modulo_wrap, skip_reason);
        return unit_done();
    }

    RUN(kernel_accepts_planned_maps);
    RUN(kernel_accepts_340_lines);
    RUN(kernel_refuses_the_modulo_wrap);
    return unit_done();
}

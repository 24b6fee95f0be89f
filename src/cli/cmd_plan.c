/* uid-mapper plan: prints the uid and gid maps the mapping rule gives a
 * container user, so an operator can see (and test) what a workload would
 * run with before containerd ever asks. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/mapfile.h"
#include "common/json_out.h"
#include "policy/idmap.h"
#include "policy/plan.h"

struct plan_args {
    const char *uid_map, *gid_map, *pool, *extra_uids, *extra_gids, *user, *groups;
    bool json;
};

/* The IDs of one map: what the rule takes as input. */
struct map_request {
    const char *kind; /* "uid" or "gid" */
    struct id_pool pool;
    uint32_t *required, *extra;
    size_t nrequired, nextra;
    struct id_plan plan;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: uid-mapper plan --user UID:GID [--groups G1,G2,...]\n"
            "                       [--uid-map FILE] [--gid-map FILE] [--pool RANGES]\n"
            "                       [--extra-uids LIST] [--extra-gids LIST] [--json]\n"
            "\n"
            "Prints the uid and gid maps a container running as UID:GID gets: pool IDs\n"
            "map to themselves, IDs outside the pool take a pool ID's place, and that\n"
            "pool ID (a collision) is unmapped in the container.\n"
            "\n"
            "  --user UID:GID      the container process's uid and gid (required)\n"
            "  --groups LIST       its supplementary gids, e.g. 10,20\n"
            "  --uid-map FILE      map whose first column is the uid pool\n"
            "                      (default /proc/self/uid_map; - reads standard input)\n"
            "  --gid-map FILE      likewise for gids (default /proc/self/gid_map)\n"
            "  --pool RANGES       narrow both pools, e.g. 0-2047,65520-65535\n"
            "  --extra-uids LIST   uids every container maps, e.g. 0,65534\n"
            "  --extra-gids LIST   gids every container maps\n"
            "  --json              print one JSON object: uidMappings, gidMappings,\n"
            "                      collisions\n"
            "  -h, --help          print this help\n"
            "\n"
            "Exit codes: 0 the maps were printed; 1 impossible request (empty pool,\n"
            "more IDs than the pool holds, more than 340 map lines); 2 bad usage or\n"
            "bad input (unreadable or malformed map, bad option).\n");
}

static int bad_input(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_input(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("uid-mapper plan: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

enum { ARGS_OK = -1 }; /* parse_args: go on; anything else is the exit code */

static int parse_args(int argc, char **argv, struct plan_args *a)
{
    enum { OPT_UID_MAP = 256, OPT_GID_MAP, OPT_POOL, OPT_EXTRA_UIDS, OPT_EXTRA_GIDS,
           OPT_USER, OPT_GROUPS, OPT_JSON };
    static const struct option options[] = {
        {"uid-map", required_argument, NULL, OPT_UID_MAP},
        {"gid-map", required_argument, NULL, OPT_GID_MAP},
        {"pool", required_argument, NULL, OPT_POOL},
        {"extra-uids", required_argument, NULL, OPT_EXTRA_UIDS},
        {"extra-gids", required_argument, NULL, OPT_EXTRA_GIDS},
        {"user", required_argument, NULL, OPT_USER},
        {"groups", required_argument, NULL, OPT_GROUPS},
        {"json", no_argument, NULL, OPT_JSON},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *a = (struct plan_args){.uid_map = "/proc/self/uid_map", .gid_map = "/proc/self/gid_map"};
    opterr = 0; /* our own one-line messages */
    int c;
    while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (c) {
        case OPT_UID_MAP: a->uid_map = optarg; break;
        case OPT_GID_MAP: a->gid_map = optarg; break;
        case OPT_POOL: a->pool = optarg; break;
        case OPT_EXTRA_UIDS: a->extra_uids = optarg; break;
        case OPT_EXTRA_GIDS: a->extra_gids = optarg; break;
        case OPT_USER: a->user = optarg; break;
        case OPT_GROUPS: a->groups = optarg; break;
        case OPT_JSON: a->json = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        case ':':
            return bad_input("%s needs a value; see 'uid-mapper plan --help'",
                             argv[optind - 1]);
        default:
            return bad_input("unknown option '%s'; see 'uid-mapper plan --help'",
                             argv[optind - 1]);
        }
    }
    if (optind < argc)
        return bad_input("unexpected argument '%s'; see 'uid-mapper plan --help'",
                         argv[optind]);
    if (!a->user)
        return bad_input("--user UID:GID is required, e.g. --user 65532:65532");
    return ARGS_OK;
}

static int parse_id_list(const char *option, const char *s, uint32_t **ids, size_t *n)
{
    char err[256];
    *ids = NULL;
    *n = 0;
    if (s && id_list_parse(s, ids, n, err, sizeof(err)) < 0)
        return bad_input("%s: %s", option, err);
    return 0;
}

/* --user UID:GID and --groups give the required IDs: the uid, and the gid
 * followed by the supplementary gids. */
static int parse_user(const struct plan_args *a, struct map_request *uid,
                      struct map_request *gid)
{
    char err[256];
    char *list = strdup(a->user);
    char *colon = list ? strchr(list, ':') : NULL;
    uint32_t *ids = NULL, *groups = NULL;
    size_t n = 0, ngroups = 0;
    bool ok = colon && !strchr(list, ',') && strchr(colon + 1, ':') == NULL;
    if (ok) {
        *colon = ','; /* "UID:GID" read as the ID list "UID,GID" */
        ok = id_list_parse(list, &ids, &n, err, sizeof(err)) == 0 && n == 2;
    }
    free(list);
    if (!ok) {
        free(ids);
        return bad_input("--user \"%s\": expected UID:GID, two IDs 0-%" PRIu32
                         ", e.g. 65532:65532", a->user, IDMAP_MAX_ID);
    }
    if (parse_id_list("--groups", a->groups, &groups, &ngroups) != 0) {
        free(ids);
        return EXIT_USAGE;
    }
    uid->required = malloc(sizeof(*uid->required));
    gid->required = malloc((1 + ngroups) * sizeof(*gid->required));
    if (uid->required && gid->required) {
        uid->required[0] = ids[0];
        uid->nrequired = 1;
        gid->required[0] = ids[1];
        for (size_t i = 0; i < ngroups; i++)
            gid->required[1 + i] = groups[i];
        gid->nrequired = 1 + ngroups;
    }
    free(ids);
    free(groups);
    return uid->required && gid->required ? 0 : bad_input("out of memory");
}

static void print_json(const struct map_request *uid, const struct map_request *gid)
{
    printf("{\"uidMappings\":");
    json_put_mapping(stdout, &uid->plan.map);
    printf(",\"gidMappings\":");
    json_put_mapping(stdout, &gid->plan.map);
    printf(",\"collisions\":[");
    const char *sep = "";
    const struct map_request *both[] = {uid, gid};
    for (size_t m = 0; m < 2; m++) {
        const struct map_request *r = both[m];
        for (size_t i = 0; i < r->plan.ncollisions; i++) {
            const struct id_collision *c = &r->plan.collisions[i];
            printf("%s{\"kind\":\"%s\",\"containerID\":%" PRIu32 ",\"hostID\":%" PRIu32
                   ",\"displacedBy\":%" PRIu32 "}",
                   sep, r->kind, c->container_id, c->host_id, c->displaced_by);
            sep = ",";
        }
    }
    printf("]}\n");
}

static void print_text_map(const struct map_request *r)
{
    char pool[128];
    if (pool_format(&r->pool, pool, sizeof(pool)) < 0)
        snprintf(pool, sizeof(pool), "%zu ranges", r->pool.n);
    printf("%s map, %zu line%s (pool %s, %" PRIu64 " IDs):\n", r->kind, r->plan.map.n,
           r->plan.map.n == 1 ? "" : "s", pool, r->pool.size);
    printf("  %12s %12s %12s\n", "container ID", "host ID", "count");
    for (size_t i = 0; i < r->plan.map.n; i++) {
        const struct id_extent *e = &r->plan.map.e[i];
        printf("  %12" PRIu32 " %12" PRIu32 " %12" PRIu32 "\n", e->container_id,
               e->host_id, e->size);
    }
}

static void print_text(const struct map_request *uid, const struct map_request *gid)
{
    print_text_map(uid);
    print_text_map(gid);
    if (uid->plan.ncollisions + gid->plan.ncollisions == 0) {
        printf("No collisions: every required ID is in the pool and maps to itself.\n");
        return;
    }
    printf("Collisions (pool IDs unmapped in this container):\n");
    const struct map_request *both[] = {uid, gid};
    for (size_t m = 0; m < 2; m++) {
        const struct map_request *r = both[m];
        for (size_t i = 0; i < r->plan.ncollisions; i++) {
            const struct id_collision *c = &r->plan.collisions[i];
            printf("  %s %" PRIu32 " is unmapped: its host ID %" PRIu32
                   " now serves %s %" PRIu32 ", which is outside the pool\n",
                   r->kind, c->container_id, c->host_id, r->kind, c->displaced_by);
        }
    }
}

static int plan_one(struct map_request *r)
{
    enum plan_status st = plan_map(&r->pool, r->required, r->nrequired, r->extra,
                                   r->nextra, &r->plan);
    if (st == PLAN_OK)
        return 0;
    if (st == PLAN_INVALID_ID)
        return bad_input("cannot map %ss: %s", r->kind, plan_strerror(st));
    fprintf(stderr, "uid-mapper plan: cannot map %ss: %s (pool of %" PRIu64 " IDs)\n",
            r->kind, plan_strerror(st), r->pool.size);
    return EXIT_FAIL;
}

static void map_request_release(struct map_request *r)
{
    free(r->required);
    free(r->extra);
    id_plan_release(&r->plan);
}

int cmd_plan(int argc, char **argv)
{
    struct plan_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != ARGS_OK)
        return rc;

    struct map_request *uid = calloc(1, sizeof(*uid)), *gid = calloc(1, sizeof(*gid));
    char *uid_text = NULL, *gid_text = NULL;
    char err[512];
    rc = EXIT_USAGE;
    if (!uid || !gid) {
        bad_input("out of memory");
        goto out;
    }
    uid->kind = "uid";
    gid->kind = "gid";
    if (parse_user(&a, uid, gid) != 0 ||
        parse_id_list("--extra-uids", a.extra_uids, &uid->extra, &uid->nextra) != 0 ||
        parse_id_list("--extra-gids", a.extra_gids, &gid->extra, &gid->nextra) != 0)
        goto out;

    /* Standard input can be read once: both maps from "-" share its text. */
    uid_text = mapfile_read(a.uid_map, err, sizeof(err));
    if (!uid_text) {
        bad_input("%s", err);
        goto out;
    }
    bool shared = strcmp(a.uid_map, "-") == 0 && strcmp(a.gid_map, "-") == 0;
    gid_text = shared ? uid_text : mapfile_read(a.gid_map, err, sizeof(err));
    if (!gid_text) {
        bad_input("%s", err);
        goto out;
    }
    if (mapfile_pool(a.uid_map, uid_text, a.pool, &uid->pool, err, sizeof(err)) != 0 ||
        mapfile_pool(a.gid_map, gid_text, a.pool, &gid->pool, err, sizeof(err)) != 0) {
        bad_input("%s", err);
        goto out;
    }

    rc = plan_one(uid);
    if (rc == 0)
        rc = plan_one(gid);
    if (rc == 0) {
        if (a.json)
            print_json(uid, gid);
        else
            print_text(uid, gid);
        rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
    }
out:
    if (gid_text != uid_text)
        free(gid_text);
    free(uid_text);
    if (uid)
        map_request_release(uid);
    if (gid)
        map_request_release(gid);
    free(uid);
    free(gid);
    return rc;
}

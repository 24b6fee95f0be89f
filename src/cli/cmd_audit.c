/* uid-mapper audit: which uids and gids do images need, does a pool hold
 * them, and what node map would. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/needs.h"
#include "audit/report.h"
#include "audit/suggest.h"
#include "cli/commands.h"
#include "cli/mapfile.h"
#include "policy/decimal.h"
#include "policy/idmap.h"

static void usage(FILE *out)
{
    fputs("usage: uid-mapper audit [--json] [--uid-map FILE] [--gid-map FILE] [--pool RANGES]\n"
          "                        IMAGE...\n"
          "       uid-mapper audit --suggest-map SIZE [--json] IMAGE...\n"
          "\n"
          "IMAGE is an OCI layout directory, an oci-archive tarball or a docker-archive\n"
          "tarball (skopeo copy, podman save, docker save, ctr export). Layers are\n"
          "streamed, never unpacked; whiteouts are applied so deleted files don't count.\n"
          "\n"
          "Counted: every entry of the merged image (files, directories, symlinks,\n"
          "devices, each hard link), by its owner uid and owner gid; directories that\n"
          "only exist as parents of listed entries are not entries. The image's user\n"
          "(config User, resolved through the image's /etc/passwd and /etc/group, with\n"
          "the user's supplementary groups) is needed too, even if it owns no entry.\n"
          "\n"
          "Without --suggest-map, the needed IDs are checked against the pool: the IDs\n"
          "of --uid-map/--gid-map FILE (default /proc/self/uid_map and gid_map: the IDs\n"
          "this process can use), narrowed to --pool RANGES (\"0-2047,65534\") if given.\n"
          "Exit 0 when the pool holds them all, 1 when not (the missing IDs are listed),\n"
          "2 on bad usage or an unreadable image.\n"
          "\n"
          "--suggest-map SIZE prints ID ranges of at most SIZE IDs in total, holding 0\n"
          "and every needed ID: one low range from 0 as long as SIZE allows, then the\n"
          "needed higher IDs one by one; as podman --uidmap/--gidmap arguments and as\n"
          "the node's uid_map/gid_map. Exit 1 when the needed IDs do not fit.\n"
          "\n"
          "--json prints one JSON document instead of text.\n",
          out);
}

static int load_pool(const char *map_file, const char *narrow, struct id_pool *pool)
{
    char err[512];
    char *text = mapfile_read(map_file, err, sizeof(err));
    int rc = text ? mapfile_pool(map_file, text, narrow, pool, err, sizeof(err)) : -1;
    free(text);
    if (rc != 0)
        fprintf(stderr, "uid-mapper audit: %s\n", err);
    return rc;
}

static int check_pools(const struct audit_set *set, const char *uid_map, const char *gid_map,
                       const char *narrow, bool json)
{
    struct id_pool *pools = malloc(2 * sizeof(*pools));
    struct verdict v = {0};
    int rc = EXIT_USAGE;
    if (!pools) {
        fprintf(stderr, "uid-mapper audit: out of memory\n");
        return EXIT_FAIL;
    }
    if (load_pool(uid_map, narrow, &pools[ID_UID]) != 0 ||
        load_pool(gid_map, narrow, &pools[ID_GID]) != 0)
        goto out;
    v.uid_pool = &pools[ID_UID];
    v.gid_pool = &pools[ID_GID];
    if (needs_collect(set, ID_UID, false, v.uid_pool, &v.missing_uids) != 0 ||
        needs_collect(set, ID_GID, false, v.gid_pool, &v.missing_gids) != 0) {
        fprintf(stderr, "uid-mapper audit: out of memory\n");
        rc = EXIT_FAIL;
        goto out;
    }
    (json ? report_json : report_text)(stdout, set, &v);
    rc = v.missing_uids.n || v.missing_gids.n ? EXIT_FAIL : EXIT_OK;
out:
    id_list_free(&v.missing_uids);
    id_list_free(&v.missing_gids);
    free(pools);
    return rc;
}

static int suggest(const struct audit_set *set, uint32_t size, bool json)
{
    struct id_list need[2] = {{0}};
    struct suggestion *s = calloc(2, sizeof(*s));
    int rc = EXIT_OK;
    if (!s || needs_collect(set, ID_UID, true, NULL, &need[ID_UID]) != 0 ||
        needs_collect(set, ID_GID, true, NULL, &need[ID_GID]) != 0) {
        fprintf(stderr, "uid-mapper audit: out of memory\n");
        rc = EXIT_FAIL;
        goto out;
    }
    for (int k = ID_UID; k <= ID_GID; k++) {
        const char *what = k == ID_UID ? "uid" : "gid";
        switch (suggest_ranges(need[k].v, need[k].n, size, &s[k])) {
        case SUGGEST_OK:
            break;
        case SUGGEST_TOO_MANY_IDS:
            fprintf(stderr,
                    "uid-mapper audit: the images need %zu distinct %ss (with 0), more than "
                    "%" PRIu32 "; these %ss do not fit:",
                    need[k].n, what, size, what);
            for (size_t i = s[k].first_unfit; i < need[k].n; i++)
                fprintf(stderr, " %" PRIu32, need[k].v[i]);
            fputs("\n  Ask for a larger allocation, or drop images that use them.\n", stderr);
            rc = EXIT_FAIL;
            break;
        case SUGGEST_TOO_MANY_EXTENTS:
            fprintf(stderr,
                    "uid-mapper audit: the %ss the images need above the low range form more "
                    "than %d separate ranges, more lines than a %s_map may have; a larger "
                    "SIZE lets the low range absorb them\n",
                    what, IDMAP_MAX_EXTENTS, what);
            rc = EXIT_FAIL;
            break;
        }
    }
    if (rc == EXIT_OK) {
        if (json)
            report_suggest_json(stdout, s);
        else
            report_suggest_text(stdout, need, s, size);
    }
out:
    id_list_free(&need[ID_UID]);
    id_list_free(&need[ID_GID]);
    free(s);
    return rc;
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},         {"uid-map", required_argument, NULL, 'u'},
        {"gid-map", required_argument, NULL, 'g'}, {"pool", required_argument, NULL, 'p'},
        {"suggest-map", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *uid_map = "/proc/self/uid_map", *gid_map = "/proc/self/gid_map";
    const char *narrow = NULL, *size_arg = NULL;
    bool json = false, pool_given = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'u': uid_map = optarg; pool_given = true; break;
        case 'g': gid_map = optarg; pool_given = true; break;
        case 'p': narrow = optarg; pool_given = true; break;
        case 's': size_arg = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    uint32_t size = 0;
    const char *end = size_arg ? decimal_u32(size_arg, &size) : NULL;
    if (size_arg && (!end || *end || size == 0)) {
        fprintf(stderr, "uid-mapper audit: --suggest-map wants a number of IDs (like 2048), "
                        "not '%s'\n", size_arg);
        return EXIT_USAGE;
    }
    if (size_arg && pool_given) {
        fprintf(stderr, "uid-mapper audit: --suggest-map designs a new map; it takes no "
                        "--uid-map, --gid-map or --pool\n");
        return EXIT_USAGE;
    }
    if (optind == argc) {
        fprintf(stderr, "uid-mapper audit: name at least one IMAGE (OCI layout directory, "
                        "oci-archive or docker-archive)\n");
        usage(stderr);
        return EXIT_USAGE;
    }

    struct audit_set set = {0};
    for (int i = optind; i < argc; i++) {
        struct audit_error err;
        if (audit_path(argv[i], &set, &err) != 0) {
            fprintf(stderr, "uid-mapper audit: %s\n", err.msg);
            audit_set_free(&set);
            return EXIT_USAGE;
        }
    }
    int rc = size_arg ? suggest(&set, size, json) : check_pools(&set, uid_map, gid_map, narrow, json);
    audit_set_free(&set);
    return rc;
}

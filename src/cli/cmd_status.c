/* uid-mapper status: the pinned user namespaces, their maps and the
 * containers using each, read from the state directory only (no runtime
 * connection, so it works while containerd or the plugin is down).
 *
 * --json prints one object:
 *   {"namespaces":[{"name":"<name>","path":"<state>/userns/<name>",
 *     "uidMappings":[{"containerID":N,"hostID":N,"size":N},...],
 *     "gidMappings":[...],
 *     "containers":[{"id":"..","pod":"..","namespace":"..","name":".."},...]}]}
 * "pod" is the pod name, "namespace" its Kubernetes namespace and "name" the
 * container name; namespaces are sorted by name, containers by id. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "common/json_out.h"
#include "effects/userns.h"
#include "plugin/config.h"
#include "plugin/registry.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: uid-mapper status [--state-dir DIR] [--json]\n\n"
            "Lists the pinned user namespaces under DIR (default %s), their uid and\n"
            "gid maps and the containers using each. Reads only the state directory.\n\n"
            "  --state-dir DIR  the plugin's state_dir\n"
            "  --json           one JSON object (shape documented in cmd_status.c)\n\n"
            "Exit codes: 0 listed (possibly nothing), 1 the state directory is missing\n"
            "or cannot be read, 2 bad usage.\n",
            CONFIG_DEFAULT_STATE_DIR);
}

struct names {
    char (*v)[USERNS_NAME_MAX];
    size_t n, cap;
};

static int collect(const char *name, void *arg)
{
    struct names *ns = arg;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 16;
        void *grown = realloc(ns->v, cap * sizeof(*ns->v));
        if (!grown)
            return -1;
        ns->v = grown;
        ns->cap = cap;
    }
    snprintf(ns->v[ns->n++], USERNS_NAME_MAX, "%s", name);
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct registry_entry *)a)->id,
                  ((const struct registry_entry *)b)->id);
}

static void text_mapping(const char *kind, const struct id_mapping *m)
{
    printf("  %s map:", kind);
    for (size_t i = 0; i < m->n; i++)
        printf("%s %u->%u x%u", i ? "," : "", m->e[i].container_id, m->e[i].host_id,
               m->e[i].size);
    printf("%s\n", m->n ? "" : " (empty)");
}

static void print_namespace(const char *state_dir, const char *name,
                            const struct registry *reg, bool json, bool first)
{
    char path[PATH_MAX], why[512];
    userns_path(state_dir, name, path, sizeof(path));
    struct id_mapping maps[2] = {{0}, {0}}; /* stay empty if unreadable */
    if (userns_read_maps(state_dir, name, &maps[0], &maps[1], why, sizeof(why)) < 0)
        fprintf(stderr, "uid-mapper status: %s\n", why);

    if (json) {
        printf("%s{\"name\":", first ? "" : ",");
        json_put_string(stdout, name);
        printf(",\"path\":");
        json_put_string(stdout, path);
        printf(",\"uidMappings\":");
        json_put_mapping(stdout, &maps[0]);
        printf(",\"gidMappings\":");
        json_put_mapping(stdout, &maps[1]);
        printf(",\"containers\":[");
    } else {
        printf("%s%s\n", first ? "" : "\n", path);
        text_mapping("uid", &maps[0]);
        text_mapping("gid", &maps[1]);
        printf("  containers: %zu\n", registry_users(reg, name));
    }
    bool any = false;
    for (size_t i = 0; i < reg->n; i++) {
        const struct registry_entry *e = &reg->v[i];
        if (strcmp(e->userns, name) != 0)
            continue;
        if (json) {
            printf("%s{\"id\":", any ? "," : "");
            json_put_string(stdout, e->id);
            printf(",\"pod\":");
            json_put_string(stdout, e->pod_name);
            printf(",\"namespace\":");
            json_put_string(stdout, e->pod_namespace);
            printf(",\"name\":");
            json_put_string(stdout, e->name);
            putchar('}');
        } else {
            printf("    %.12s  %s/%s  %s\n", e->id, e->pod_namespace, e->pod_name, e->name);
        }
        any = true;
    }
    if (json)
        printf("]}");
}

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"state-dir", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *state_dir = CONFIG_DEFAULT_STATE_DIR;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': state_dir = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "uid-mapper status: unexpected argument '%s'\n", argv[optind]);
        return EXIT_USAGE;
    }

    struct stat st;
    const char *missing = stat(state_dir, &st) < 0 ? strerror(errno)
                          : !S_ISDIR(st.st_mode) ? strerror(ENOTDIR)
                                                 : NULL;
    if (missing) {
        fprintf(stderr, "uid-mapper status: %s: %s; the plugin creates its state_dir when "
                        "configured: pass the state_dir of its configuration\n",
                state_dir, missing);
        return EXIT_FAIL;
    }
    struct registry reg;
    struct names names = {0};
    char why[512];
    int rc = EXIT_OK;
    if (registry_load(&reg, state_dir, why, sizeof(why)) < 0) {
        fprintf(stderr, "uid-mapper status: %s\n", why);
        rc = EXIT_FAIL;
    } else if (userns_foreach(state_dir, collect, &names) < 0) {
        fprintf(stderr, "uid-mapper status: reading %s/userns: %s\n", state_dir,
                strerror(errno));
        rc = EXIT_FAIL;
    }
    if (rc == EXIT_OK) {
        qsort(names.v, names.n, sizeof(*names.v), by_name);
        qsort(reg.v, reg.n, sizeof(*reg.v), by_id);
        if (json)
            printf("{\"namespaces\":[");
        else if (names.n == 0)
            printf("no pinned user namespaces under %s\n", state_dir);
        for (size_t i = 0; i < names.n; i++)
            print_namespace(state_dir, names.v[i], &reg, json, i == 0);
        if (json)
            printf("]}\n");
    }
    registry_free(&reg);
    free(names.v);
    return rc;
}

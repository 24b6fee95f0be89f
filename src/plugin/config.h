/* The plugin's configuration: YAML text from the NRI drop-in file
 * (/etc/nri/conf.d/00-uid-mapper.conf, handed over by the runtime as the
 * Configure string) or from `uid-mapper run --config FILE`.
 *
 * Every key is optional; an empty text means all defaults:
 *
 *   pool: "0-2047,65520-65535"   # narrow the pool (default: every ID this
 *                                # process's /proc/self/{uid,gid}_map holds)
 *   extra_uids: [0, 65534]       # IDs mapped into every container besides the
 *   extra_gids: [0, 5, 65534]    # container's own; a YAML sequence of integers
 *   state_dir: /run/uid-mapper   # absolute path
 *   skip_namespaces: [kube-system]
 *   on_error: fail               # fail | skip
 *   log_level: info              # error | warn | info | debug
 *
 * The parser is strict: an unknown key, a value of the wrong YAML type or a
 * bad value fails the whole configuration with a message naming the key, so
 * the plugin never runs on a configuration it misread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "policy/idmap.h"

/* One plugin instance per state directory: users are counted in memory. */
#define CONFIG_DEFAULT_STATE_DIR "/run/uid-mapper"
/* Leaves room under PATH_MAX for STATE/pods/<pod-id>/mqueue and friends. */
#define CONFIG_STATE_DIR_MAX 256

enum on_error {
    ON_ERROR_FAIL, /* the container fails with a message saying what to fix */
    ON_ERROR_SKIP, /* the container runs without a user namespace, loudly */
};

struct mapper_config {
    bool has_pool;
    struct id_pool pool; /* narrows the process's own pool when has_pool */
    uint32_t *extra_uids;
    size_t nextra_uids;
    uint32_t *extra_gids;
    size_t nextra_gids;
    char *state_dir;
    char **skip_namespaces;
    size_t nskip_namespaces;
    enum on_error on_error;
    bool has_log_level;
    enum log_level log_level;
};

/* Parses YAML text (NULL or empty: defaults) into *out. Returns 0, or -1 with
 * err saying which key is wrong and why; *out is then left zeroed (nothing to
 * free). On success release *out with config_free(). */
int config_parse(const char *text, struct mapper_config *out, char *err,
                 size_t errlen);
void config_free(struct mapper_config *c);

bool config_skips_namespace(const struct mapper_config *c, const char *pod_ns);
const char *on_error_name(enum on_error e);

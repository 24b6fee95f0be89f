/* What 'uid-mapper audit' prints: per image and in total, as text for people
 * or as JSON for scripts. */
#pragma once
#include <stdio.h>

#include "audit/audit.h"
#include "audit/needs.h"
#include "audit/suggest.h"
#include "policy/idmap.h"

struct verdict {
    const struct id_pool *uid_pool, *gid_pool;
    struct id_list missing_uids, missing_gids; /* across all images */
};

void report_text(FILE *out, const struct audit_set *set, const struct verdict *v);
/* {"images":[{"ref","user":{"uid","gid"},"uids":{"ID":COUNT},"gids":{...}}],
 *  "covered":BOOL,"missing":{"uids":[...],"gids":[...]}} */
void report_json(FILE *out, const struct audit_set *set, const struct verdict *v);

/* A suggested map as podman arguments and as the uid_map/gid_map the node
 * (and so the plugin) would read. */
void report_suggest_text(FILE *out, const struct id_list need[2], const struct suggestion s[2],
                         uint64_t size);
/* {"uidRanges":[[START,COUNT],...],"gidRanges":[...]} */
void report_suggest_json(FILE *out, const struct suggestion s[2]);

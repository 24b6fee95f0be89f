/* Resolves an image config's User through the image's own /etc/passwd and
 * /etc/group, the way runc and containerd do when they start the image:
 *   ""            root: uid 0, gid 0
 *   "65532"       uid 65532; gid from its passwd line, else 0
 *   "nonroot"     uid and gid from the passwd line named nonroot
 *   "1000:1000"   uid 1000, gid 1000
 *   "user:group"  names looked up in passwd and group
 * A name (user or group) must exist; a number need not. The user's
 * supplementary groups are the groups whose member list names the user. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "audit/error.h"

#define USERDB_MAX_GROUPS 64

struct image_user {
    uint32_t uid, gid;
    uint32_t groups[USERDB_MAX_GROUPS]; /* supplementary gids, without gid */
    size_t n_groups;
};

/* passwd and group may be NULL (the image has no such file). Returns 0, or
 * -1 with err when a name is unknown or a number is out of range. */
int userdb_resolve(const char *spec, const char *passwd, const char *group,
                   struct image_user *out, struct audit_error *err);

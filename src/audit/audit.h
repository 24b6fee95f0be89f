/* Auditing images: the uids and gids that own files in each image's merged
 * filesystem, and the user the image runs as. */
#pragma once
#include <stddef.h>

#include "audit/census.h"
#include "audit/error.h"
#include "audit/userdb.h"

struct image_audit {
    char *ref;
    char *user_spec; /* the config's User, "" when unset */
    struct image_user user;
    struct id_census uids, gids;
};

struct audit_set {
    struct image_audit *v;
    size_t n;
};

/* Audits every image that the OCI layout directory, oci-archive or
 * docker-archive at path holds, appending one result per image to set.
 * Returns 0, or -1 with err (set keeps what was appended before). */
int audit_path(const char *path, struct audit_set *set, struct audit_error *err);
void audit_set_free(struct audit_set *set);

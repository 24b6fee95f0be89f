/* Applies one image layer to the merged filesystem, following the OCI
 * changeset rules: ".wh.NAME" deletes NAME from lower layers, ".wh..wh..opq"
 * hides everything lower layers put in its directory, other ".wh..wh.*"
 * names are aufs bookkeeping and ignored; whiteouts themselves are not
 * files of the image. A hard link is an entry of its own, owned like its
 * target. The content of /etc/passwd and /etc/group, when they are regular
 * files, is kept on their nodes so the image user can be resolved after the
 * last layer. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "audit/error.h"
#include "audit/tree.h"

struct archive;

/* The largest file content read (the user databases). */
#define LAYER_MAX_DB_BYTES (4u << 20)

/* layer numbers start at 1 and grow upwards. Returns 0, or -1 with err. */
int layer_apply(struct tree *t, struct archive *a, uint32_t layer, struct audit_error *err);

/* Reads the data of the entry a is at into a malloc'd NUL-terminated buffer
 * of at most LAYER_MAX_DB_BYTES; path only names it in errors. Returns 0, or
 * -1 with err. */
int layer_read_data(struct archive *a, const char *path, char **out, size_t *len,
                    struct audit_error *err);

/* libFuzzer: an untrusted image layer through the audit's layer walker,
 * applied twice (so whiteouts and opaque markers meet lower entries), then
 * counted and its /etc/passwd and /etc/group used to resolve a user. */
#include <archive.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/census.h"
#include "audit/layer.h"
#include "audit/tree.h"
#include "audit/userdb.h"

static void apply(struct tree *t, const uint8_t *data, size_t size, uint32_t layer)
{
    struct archive *a = archive_read_new();
    struct audit_error err;
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_empty(a);
    if (archive_read_open_memory(a, data, size) == ARCHIVE_OK)
        layer_apply(t, a, layer, &err);
    archive_read_free(a);
}

static const char *content(struct tree *t, const char *path)
{
    const struct node *n = tree_find(t, path);
    return n && n->kind == NODE_FILE ? n->content : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tree *t = tree_new();
    if (!t)
        return 0;
    apply(t, data, size, 1);
    apply(t, data, size, 2);
    struct id_census uids, gids;
    if (census_take(t, &uids, &gids) == 0) {
        census_free(&uids);
        census_free(&gids);
    }
    struct image_user user;
    struct audit_error err;
    userdb_resolve("nonroot:nonroot", content(t, "etc/passwd"), content(t, "etc/group"), &user,
                   &err);
    tree_free(t);
    return 0;
}

#include "audit/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/path.h"
#include "policy/idmap.h"

#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"
#define AUFS_META ".wh..wh."

static bool is_user_db(const char *path)
{
    return strcmp(path, "etc/passwd") == 0 || strcmp(path, "etc/group") == 0;
}

static int read_content(struct archive *a, struct node *n, const char *path,
                        struct audit_error *err)
{
    size_t cap = 4096, used = 0;
    char *buf = malloc(cap);
    la_ssize_t got = 0;
    while (buf) {
        if (used + 1 == cap) {
            char *grown = cap < LAYER_MAX_DB_BYTES ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                free(buf);
                audit_fail(err, "/%s is larger than %u bytes or memory ran out", path,
                           LAYER_MAX_DB_BYTES);
                return -1;
            }
            buf = grown;
            cap *= 2;
        }
        got = archive_read_data(a, buf + used, cap - 1 - used);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    if (!buf || got < 0) {
        free(buf);
        audit_fail(err, "reading /%s: %s", path, buf ? archive_error_string(a) : "out of memory");
        return -1;
    }
    buf[used] = '\0';
    n->content = buf;
    n->content_len = used;
    return 0;
}

/* Handles a whiteout entry; dir is the clean directory part, base the name. */
static void apply_whiteout(struct tree *t, const char *dir, const char *base, uint32_t layer)
{
    char target[PATH_MAX * 2];
    if (strcmp(base, OPAQUE) == 0) {
        tree_opaque(t, dir, layer);
    } else if (strncmp(base, AUFS_META, strlen(AUFS_META)) != 0) {
        snprintf(target, sizeof(target), "%s%s%s", dir, dir[0] ? "/" : "",
                 base + strlen(WHITEOUT));
        tree_whiteout(t, target, layer);
    }
}

static int owner(struct archive_entry *e, const char *path, uint32_t *uid, uint32_t *gid,
                 struct audit_error *err)
{
    la_int64_t u = archive_entry_uid(e), g = archive_entry_gid(e);
    if (u < 0 || u > IDMAP_MAX_ID || g < 0 || g > IDMAP_MAX_ID) {
        audit_fail(err, "/%s is owned by %lld:%lld, which is no valid uid:gid", path,
                   (long long)u, (long long)g);
        return -1;
    }
    *uid = (uint32_t)u;
    *gid = (uint32_t)g;
    return 0;
}

static int apply_entry(struct tree *t, struct archive *a, struct archive_entry *e,
                       uint32_t layer, struct audit_error *err)
{
    char path[PATH_MAX];
    const char *raw = archive_entry_pathname(e);
    if (!raw || path_clean(raw, path, sizeof(path)) != 0) {
        audit_fail(err, "an entry has %s", raw ? "a path longer than PATH_MAX" : "no path");
        return -1;
    }
    char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (strncmp(base, WHITEOUT, strlen(WHITEOUT)) == 0) {
        if (slash)
            *slash = '\0';
        apply_whiteout(t, slash ? path : "", base, layer);
        return 0;
    }

    uint32_t uid, gid;
    if (owner(e, path, &uid, &gid, err) != 0)
        return -1;
    const struct node *target = NULL;
    const char *link = archive_entry_hardlink(e);
    char link_path[PATH_MAX];
    if (link && path_clean(link, link_path, sizeof(link_path)) == 0 &&
        (target = tree_find(t, link_path)) && target->kind == NODE_FILE) {
        uid = target->uid;
        gid = target->gid;
    }
    enum node_kind kind = archive_entry_filetype(e) == AE_IFDIR && !link ? NODE_DIR : NODE_FILE;
    struct node *n = tree_put(t, path, kind, uid, gid, layer);
    if (!n) {
        audit_fail(err, "out of memory");
        return -1;
    }
    if (!is_user_db(path))
        return 0;
    if (target && target->content) {
        n->content = malloc(target->content_len + 1);
        if (!n->content) {
            audit_fail(err, "out of memory");
            return -1;
        }
        memcpy(n->content, target->content, target->content_len + 1);
        n->content_len = target->content_len;
        return 0;
    }
    return !link && archive_entry_filetype(e) == AE_IFREG ? read_content(a, n, path, err) : 0;
}

int layer_apply(struct tree *t, struct archive *a, uint32_t layer, struct audit_error *err)
{
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)
        if (apply_entry(t, a, e, layer, err) != 0)
            return -1;
    if (r != ARCHIVE_EOF) {
        audit_fail(err, "%s", archive_error_string(a) ? archive_error_string(a)
                                                       : "unreadable tar stream");
        return -1;
    }
    return 0;
}

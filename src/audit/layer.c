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

int layer_read_data(struct archive *a, const char *path, char **out, size_t *len,
                    struct audit_error *err)
{
    size_t cap = 0, used = 0;
    char *buf = NULL;
    for (;;) {
        if (used + 1 >= cap) {
            if (cap >= LAYER_MAX_DB_BYTES) {
                audit_fail(err, "/%s is larger than %u bytes; no real user database is",
                           path, LAYER_MAX_DB_BYTES);
                goto fail;
            }
            size_t grown_cap = cap ? cap * 2 : 4096;
            char *grown = realloc(buf, grown_cap);
            if (!grown) {
                audit_fail(err, "out of memory reading /%s", path);
                goto fail;
            }
            buf = grown;
            cap = grown_cap;
        }
        la_ssize_t got = archive_read_data(a, buf + used, cap - 1 - used);
        if (got < 0) {
            audit_fail(err, "reading /%s: %s", path, archive_error_string(a));
            goto fail;
        }
        if (got == 0)
            break;
        used += (size_t)got;
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return 0;
fail:
    free(buf);
    return -1;
}

/* Handles a whiteout entry; dir is the clean directory part, base the name. */
static void apply_whiteout(struct tree *t, const char *dir, const char *base, uint32_t layer)
{
    char target[PATH_MAX * 2];
    if (strcmp(base, OPAQUE) == 0) {
        tree_opaque(t, dir, layer);
    } else if (strncmp(base, AUFS_META, strlen(AUFS_META)) != 0 &&
               base[strlen(WHITEOUT)] != '\0') { /* a bare ".wh." names nothing */
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
    /* A hard link is its target's inode, so it has the target's owner. */
    const char *link = archive_entry_hardlink(e);
    char link_path[PATH_MAX];
    const struct node *target = link && path_clean(link, link_path, sizeof(link_path)) == 0
                                    ? tree_find(t, link_path)
                                    : NULL;
    if (target && target->kind == NODE_FILE) {
        uid = target->uid;
        gid = target->gid;
    }
    enum node_kind kind = archive_entry_filetype(e) == AE_IFDIR && !link ? NODE_DIR : NODE_FILE;
    struct node *n = tree_put(t, path, kind, uid, gid, layer);
    if (!n) {
        audit_fail(err, "out of memory");
        return -1;
    }
    /* Links to the user databases are followed later (image_file). */
    if (is_user_db(path) && !link && archive_entry_filetype(e) == AE_IFREG)
        return layer_read_data(a, path, &n->content, &n->content_len, err);
    return 0;
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

#include "audit/image_file.h"

#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/layer.h"
#include "audit/path.h"

#define MAX_LINK_HOPS 16

enum step { STEP_DONE, STEP_FOLLOW, STEP_NONE };

/* Finds the entry at path in layer a. A regular file is read into *text
 * (STEP_DONE); a link rewrites path to its target (STEP_FOLLOW); anything
 * else, or no such entry, is STEP_NONE. Returns -1 with err on read errors. */
static int step(struct archive *a, char path[PATH_MAX], char **text, struct audit_error *err)
{
    struct archive_entry *e;
    char name[PATH_MAX];
    size_t len;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        const char *raw = archive_entry_pathname(e);
        if (!raw || path_clean(raw, name, sizeof(name)) != 0 || strcmp(name, path) != 0)
            continue;
        const char *hard = archive_entry_hardlink(e), *sym = archive_entry_symlink(e);
        if (hard)
            return path_clean(hard, path, PATH_MAX) == 0 ? STEP_FOLLOW : STEP_NONE;
        if (archive_entry_filetype(e) == AE_IFLNK && sym)
            return path_follow(name, sym, path, PATH_MAX) == 0 ? STEP_FOLLOW : STEP_NONE;
        if (archive_entry_filetype(e) == AE_IFREG)
            return layer_read_data(a, path, text, &len, err) == 0 ? STEP_DONE : -1;
        return STEP_NONE;
    }
    if (r != ARCHIVE_EOF) {
        audit_fail(err, "%s", archive_error_string(a));
        return -1;
    }
    return STEP_NONE;
}

int image_file(struct image_source *src, const struct image_desc *desc, struct tree *t,
               const char *path, char **text, struct audit_error *err)
{
    char cur[PATH_MAX];
    snprintf(cur, sizeof(cur), "%s", path);
    *text = NULL;
    for (int hop = 0; hop < MAX_LINK_HOPS; hop++) {
        const struct node *n = tree_find(t, cur);
        if (!n || n->kind != NODE_FILE || n->layer == 0 || n->layer > desc->n_layers)
            return 0;
        if (n->content) {
            *text = strdup(n->content);
            if (!*text)
                audit_fail(err, "out of memory");
            return *text ? 0 : -1;
        }
        const char *blob = desc->layers[n->layer - 1];
        struct archive *a = source_layer_open(src, blob, err);
        int rc = a ? step(a, cur, text, err) : -1;
        if (a)
            source_layer_close(a);
        if (rc < 0) {
            audit_wrap(err, "following /%s to /%s in layer %u (%s)", path, cur, n->layer, blob);
            return -1;
        }
        if (rc != STEP_FOLLOW)
            return 0;
    }
    return 0; /* a link loop: as absent as a dangling link */
}

/* The merged filesystem of an image as its layers are applied bottom to top:
 * one node per path, with the owner and the layer that last wrote it.
 * Memory grows with the number of distinct paths, never with layer sizes. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum node_kind {
    NODE_IMPLICIT, /* a directory that exists only because something is below it */
    NODE_DIR,
    NODE_FILE,     /* any non-directory: file, symlink, device, hard link ... */
};

struct node {
    struct node *parent, *first_child, *last_child, *prev, *next;
    struct node *hash_next;
    enum node_kind kind;
    uint32_t uid, gid;
    uint32_t layer;  /* the layer that last wrote this path */
    char *content;   /* captured file content (see tree_capture) */
    size_t content_len;
    char name[];
};

struct tree;

struct tree *tree_new(void);
void tree_free(struct tree *t);

/* The root directory (path ""). */
struct node *tree_root(struct tree *t);

/* The node at a clean relative path, or NULL. */
struct node *tree_find(struct tree *t, const char *path);

/* Records the entry at path written by layer, as unpacking would: missing
 * parent directories appear implicitly; a directory over a directory keeps
 * what is below it; anything else replaces the old entry and everything
 * below it. Returns the node, or NULL when out of memory. */
struct node *tree_put(struct tree *t, const char *path, enum node_kind kind, uint32_t uid,
                      uint32_t gid, uint32_t layer);

/* Whiteout: deletes path and everything below it, unless it was written by
 * the whiting-out layer itself (whiteouts only hide lower layers). */
void tree_whiteout(struct tree *t, const char *path, uint32_t layer);

/* Opaque directory: hides everything below dir that lower layers wrote;
 * entries of this layer stay. */
void tree_opaque(struct tree *t, const char *dir, uint32_t layer);

/* Pre-order walk: the node after n, or NULL after the last one. */
struct node *tree_next(struct node *n);

/* Writes the absolute path of n ("/" for the root) into buf; returns 0, or
 * -1 when it does not fit. */
int node_path(const struct node *n, char *buf, size_t len);

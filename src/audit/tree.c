/* Nodes are linked to their parent's child list (for whole-subtree deletes)
 * and hashed by (parent, name) (for lookups in O(path depth)). */
#include "audit/tree.h"

#include <stdlib.h>
#include <string.h>

struct tree {
    struct node *root;
    struct node **buckets;
    size_t n_buckets, n_nodes;
};

static size_t hash_key(const struct node *parent, const char *name, size_t len)
{
    uint64_t h = 1469598103934665603u ^ (uint64_t)(uintptr_t)parent;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 1099511628211u;
    return (size_t)(h ^ (h >> 29));
}

static struct node **bucket_of(struct tree *t, const struct node *parent, const char *name,
                               size_t len)
{
    return &t->buckets[hash_key(parent, name, len) & (t->n_buckets - 1)];
}

static struct node *new_node(const char *name, size_t len)
{
    struct node *n = calloc(1, sizeof(*n) + len + 1);
    if (n)
        memcpy(n->name, name, len);
    return n;
}

struct tree *tree_new(void)
{
    struct tree *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->n_buckets = 1024;
    t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
    t->root = new_node("", 0);
    if (!t->buckets || !t->root) {
        free(t->buckets);
        free(t->root);
        free(t);
        return NULL;
    }
    t->root->kind = NODE_IMPLICIT;
    return t;
}

struct node *tree_root(struct tree *t)
{
    return t->root;
}

static void grow(struct tree *t)
{
    size_t n = t->n_buckets * 2;
    struct node **b = calloc(n, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < t->n_buckets; i++) {
        for (struct node *x = t->buckets[i], *next; x; x = next) {
            next = x->hash_next;
            size_t slot = hash_key(x->parent, x->name, strlen(x->name)) & (n - 1);
            x->hash_next = b[slot];
            b[slot] = x;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->n_buckets = n;
}

static struct node *child(struct tree *t, struct node *parent, const char *name, size_t len)
{
    for (struct node *x = *bucket_of(t, parent, name, len); x; x = x->hash_next)
        if (x->parent == parent && strncmp(x->name, name, len) == 0 && x->name[len] == '\0')
            return x;
    return NULL;
}

static struct node *add_child(struct tree *t, struct node *parent, const char *name, size_t len)
{
    struct node *n = new_node(name, len);
    if (!n)
        return NULL;
    n->parent = parent;
    n->prev = parent->last_child;
    if (parent->last_child)
        parent->last_child->next = n;
    else
        parent->first_child = n;
    parent->last_child = n;
    struct node **b = bucket_of(t, parent, name, len);
    n->hash_next = *b;
    *b = n;
    if (++t->n_nodes > t->n_buckets)
        grow(t);
    return n;
}

static void drop_content(struct node *n)
{
    free(n->content);
    n->content = NULL;
    n->content_len = 0;
}

/* Unlinks a node that has no children left and frees it. */
static void remove_leaf(struct tree *t, struct node *n)
{
    struct node *p = n->parent;
    if (n->prev)
        n->prev->next = n->next;
    else
        p->first_child = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        p->last_child = n->prev;
    struct node **link = bucket_of(t, p, n->name, strlen(n->name));
    while (*link != n)
        link = &(*link)->hash_next;
    *link = n->hash_next;
    t->n_nodes--;
    drop_content(n);
    free(n);
}

static struct node *deepest_first(struct node *n)
{
    while (n->first_child)
        n = n->first_child;
    return n;
}

/* Post-order successor of n within the subtree of top (top excluded). */
static struct node *post_next(struct node *n, const struct node *top)
{
    if (n->next)
        return deepest_first(n->next);
    return n->parent == top ? NULL : n->parent;
}

static void remove_children(struct tree *t, struct node *top)
{
    while (top->first_child) {
        struct node *leaf = deepest_first(top->first_child);
        remove_leaf(t, leaf);
    }
}

void tree_free(struct tree *t)
{
    if (!t)
        return;
    remove_children(t, t->root);
    drop_content(t->root);
    free(t->root);
    free(t->buckets);
    free(t);
}

/* Walks path from the root. With create, missing directories appear as
 * implicit ones and files in the way become directories (unpacking a path
 * below a file replaces the file). */
static struct node *walk(struct tree *t, const char *path, bool create, uint32_t layer)
{
    struct node *n = t->root;
    while (*path && n) {
        const char *slash = strchr(path, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        struct node *c = child(t, n, path, len);
        if (!c && create && (c = add_child(t, n, path, len))) {
            c->kind = NODE_IMPLICIT;
            c->layer = layer;
        }
        if (c && create && slash && c->kind == NODE_FILE) {
            drop_content(c);
            c->kind = NODE_IMPLICIT;
            c->layer = layer;
        }
        n = c;
        path += len + (slash != NULL);
    }
    return n;
}

struct node *tree_find(struct tree *t, const char *path)
{
    return walk(t, path, false, 0);
}

struct node *tree_put(struct tree *t, const char *path, enum node_kind kind, uint32_t uid,
                      uint32_t gid, uint32_t layer)
{
    struct node *n = walk(t, path, true, layer);
    if (!n)
        return NULL;
    if (n == t->root && kind != NODE_DIR)
        return n; /* the root stays a directory */
    if (kind != NODE_DIR || n->kind == NODE_FILE)
        remove_children(t, n);
    drop_content(n);
    n->kind = kind;
    n->uid = uid;
    n->gid = gid;
    n->layer = layer;
    return n;
}

void tree_whiteout(struct tree *t, const char *path, uint32_t layer)
{
    struct node *n = tree_find(t, path);
    if (!n || n == t->root || n->layer >= layer)
        return;
    remove_children(t, n);
    remove_leaf(t, n);
}

void tree_opaque(struct tree *t, const char *dir, uint32_t layer)
{
    struct node *top = tree_find(t, dir);
    if (!top || !top->first_child)
        return;
    /* Children before parents, so a lower directory that still holds this
     * layer's entries is kept (as implicit) and an emptied one goes. */
    for (struct node *n = deepest_first(top->first_child), *next; n; n = next) {
        next = post_next(n, top);
        if (n->layer >= layer)
            continue;
        if (n->first_child) {
            drop_content(n);
            n->kind = NODE_IMPLICIT;
        } else {
            remove_leaf(t, n);
        }
    }
}

struct node *tree_next(struct node *n)
{
    if (n->first_child)
        return n->first_child;
    while (n && !n->next)
        n = n->parent;
    return n ? n->next : NULL;
}

int node_path(const struct node *n, char *buf, size_t len)
{
    size_t need = 1;
    for (const struct node *x = n; x->parent; x = x->parent)
        need += strlen(x->name) + 1;
    if (need + (n->parent == NULL) > len)
        return -1;
    if (!n->parent) {
        strcpy(buf, "/");
        return 0;
    }
    buf[need - 1] = '\0';
    size_t end = need - 1;
    for (const struct node *x = n; x->parent; x = x->parent) {
        size_t l = strlen(x->name);
        end -= l;
        memcpy(buf + end, x->name, l);
        buf[--end] = '/';
    }
    return 0;
}

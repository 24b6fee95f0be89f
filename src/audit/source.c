#include "audit/source.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/path.h"

#define READ_CHUNK (64 * 1024)
#define MAX_LINK_HOPS 16

enum source_kind {
    SOURCE_DIR,          /* OCI layout directory */
    SOURCE_TAR_INDEXED,  /* plain tarball: members read in place */
    SOURCE_TAR_STREAMED, /* compressed tarball: members found by re-reading */
};

struct member {
    char *name;
    char *link;     /* hard link target, or symlink target resolved to a name */
    int64_t offset; /* of the data in the tarball (SOURCE_TAR_INDEXED) */
    int64_t size;
};

struct image_source {
    enum source_kind kind;
    char *path;
    int fd; /* the directory, or the tarball */
    struct member *members; /* sorted by name */
    size_t n_members;
};

/* Reads one member's bytes: a window of a file, or the current entry of a
 * tarball being streamed. */
struct member_reader {
    int fd;
    bool own_fd;
    int64_t pos, end;
    struct archive *outer;
    char buf[READ_CHUNK];
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static const struct member *find_member(const struct image_source *src, const char *name)
{
    struct member key = {.name = (char *)name};
    return bsearch(&key, src->members, src->n_members, sizeof(key), by_name);
}

/* Follows hard and symbolic links between members (docker save links
 * repeated layers to their first copy). */
static const struct member *resolve_member(const struct image_source *src, const char *name,
                                           struct audit_error *err)
{
    const struct member *m = find_member(src, name);
    for (int hops = 0; m && m->link; hops++) {
        if (hops == MAX_LINK_HOPS) {
            audit_fail(err, "'%s': too many levels of links", name);
            return NULL;
        }
        m = find_member(src, m->link);
    }
    if (!m)
        audit_fail(err, "no member '%s' (the image is incomplete or not an image)", name);
    return m;
}

static struct archive *outer_open(const char *path, struct audit_error *err)
{
    struct archive *a = archive_read_new();
    if (!a) {
        audit_fail(err, "out of memory");
        return NULL;
    }
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_xz(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, path, READ_CHUNK) != ARCHIVE_OK) {
        audit_fail(err, "%s: %s", path, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* The clean member name a link entry points at: hard link targets are
 * archive paths, symlink targets are relative to the link's directory. */
static char *link_target(struct archive_entry *e, const char *name)
{
    const char *hard = archive_entry_hardlink(e), *sym = archive_entry_symlink(e);
    char clean[PATH_MAX];
    int rc = hard ? path_clean(hard, clean, sizeof(clean))
             : archive_entry_filetype(e) == AE_IFLNK && sym
                 ? path_follow(name, sym, clean, sizeof(clean))
                 : -1;
    return rc == 0 ? strdup(clean) : NULL;
}

static int index_tarball(struct image_source *src, struct audit_error *err)
{
    struct archive *a = outer_open(src->path, err);
    if (!a)
        return -1;
    struct archive_entry *e;
    size_t cap = 0;
    bool sparse = false;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        char name[PATH_MAX];
        if (path_clean(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", name,
                       sizeof(name)) != 0)
            continue; /* a name this long is no image member */
        if (src->n_members == cap) {
            cap = cap ? cap * 2 : 32;
            struct member *grown = realloc(src->members, cap * sizeof(*grown));
            if (!grown) {
                audit_fail(err, "out of memory");
                break;
            }
            src->members = grown;
        }
        struct member *m = &src->members[src->n_members++];
        *m = (struct member){
            .name = strdup(name),
            .link = link_target(e, name),
            .offset = archive_filter_bytes(a, 0),
            .size = archive_entry_size(e),
        };
        sparse |= archive_entry_sparse_count(e) > 0;
        if (!m->name) {
            audit_fail(err, "out of memory");
            break;
        }
    }
    if (r == ARCHIVE_EOF) {
        /* Offsets in the tarball are offsets in the file only when nothing
         * was decompressed; sparse members are not stored contiguously. */
        src->kind = archive_filter_count(a) == 1 && !sparse ? SOURCE_TAR_INDEXED
                                                            : SOURCE_TAR_STREAMED;
        qsort(src->members, src->n_members, sizeof(*src->members), by_name);
    } else if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        audit_fail(err, "%s: not a readable tar archive: %s", src->path, archive_error_string(a));
    }
    archive_read_free(a);
    return r == ARCHIVE_EOF ? 0 : -1;
}

struct image_source *source_open(const char *path, struct audit_error *err)
{
    struct image_source *src = calloc(1, sizeof(*src));
    struct stat st;
    if (!src || !(src->path = strdup(path))) {
        free(src);
        audit_fail(err, "out of memory");
        return NULL;
    }
    src->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not hang us */
    if (src->fd < 0 || fstat(src->fd, &st) != 0) {
        audit_fail(err, "%s: %s", path, strerror(errno));
        source_close(src);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        src->kind = SOURCE_DIR;
    } else if (!S_ISREG(st.st_mode)) {
        audit_fail(err, "%s: not an OCI layout directory or an image tarball", path);
        source_close(src);
        return NULL;
    } else if (index_tarball(src, err) != 0) {
        source_close(src);
        return NULL;
    }
    return src;
}

void source_close(struct image_source *src)
{
    if (!src)
        return;
    for (size_t i = 0; i < src->n_members; i++) {
        free(src->members[i].name);
        free(src->members[i].link);
    }
    free(src->members);
    if (src->fd >= 0)
        close(src->fd);
    free(src->path);
    free(src);
}

/* Member names come from manifests: "./x", "/x" and "a/../x" all name the
 * member x, and none can leave the layout (".." stops at its top). */
static int clean_name(const char *name, char clean[PATH_MAX], struct audit_error *err)
{
    if (path_clean(name, clean, PATH_MAX) != 0 || clean[0] == '\0') {
        audit_fail(err, "member name '%s' names no file of the image", name);
        return -1;
    }
    return 0;
}

int source_has(struct image_source *src, const char *name)
{
    struct stat st;
    if (src->kind == SOURCE_DIR)
        return fstatat(src->fd, name, &st, 0) == 0 && S_ISREG(st.st_mode);
    return find_member(src, name) != NULL;
}

static void reader_close(struct member_reader *r)
{
    if (r->own_fd && r->fd >= 0)
        close(r->fd);
    if (r->outer)
        archive_read_free(r->outer);
    free(r);
}

static struct member_reader *reader_open(struct image_source *src, const char *raw_name,
                                         struct audit_error *err)
{
    char name[PATH_MAX];
    if (clean_name(raw_name, name, err) != 0)
        return NULL;
    struct member_reader *r = calloc(1, sizeof(*r));
    if (!r) {
        audit_fail(err, "out of memory");
        return NULL;
    }
    r->fd = -1;
    if (src->kind == SOURCE_DIR) {
        struct stat st;
        /* O_NONBLOCK: a FIFO planted in the layout must not hang the audit. */
        r->fd = openat(src->fd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        r->own_fd = true;
        if (r->fd < 0 || fstat(r->fd, &st) != 0) {
            audit_fail(err, "%s: %s", name, strerror(errno));
            goto fail;
        }
        if (!S_ISREG(st.st_mode)) {
            audit_fail(err, "%s: not a regular file", name);
            goto fail;
        }
        r->end = st.st_size;
        return r;
    }
    const struct member *m = resolve_member(src, name, err);
    if (!m)
        goto fail;
    if (src->kind == SOURCE_TAR_INDEXED) {
        r->fd = src->fd;
        r->pos = m->offset;
        r->end = m->offset + m->size;
        return r;
    }
    if (!(r->outer = outer_open(src->path, err)))
        goto fail;
    struct archive_entry *e;
    char clean[PATH_MAX];
    int rc;
    while ((rc = archive_read_next_header(r->outer, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN)
        if (path_clean(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", clean,
                       sizeof(clean)) == 0 &&
            strcmp(clean, m->name) == 0)
            return r;
    audit_fail(err, "member '%s' vanished while reading (was the file replaced?)", m->name);
fail:
    reader_close(r);
    return NULL;
}

/* Returns the number of bytes read into r->buf, 0 at the end, -1 on error
 * with errno set. */
static ssize_t reader_read(struct member_reader *r)
{
    if (r->outer) {
        la_ssize_t n = archive_read_data(r->outer, r->buf, sizeof(r->buf));
        if (n < 0)
            errno = archive_errno(r->outer) ? archive_errno(r->outer) : EIO;
        return n < 0 ? -1 : n;
    }
    size_t want = r->end - r->pos < (int64_t)sizeof(r->buf) ? (size_t)(r->end - r->pos)
                                                            : sizeof(r->buf);
    if (want == 0)
        return 0;
    ssize_t n;
    do
        n = pread(r->fd, r->buf, want, r->pos);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        errno = EIO; /* the file is shorter than its tar header said */
        return -1;
    }
    if (n > 0)
        r->pos += n;
    return n;
}

int source_read(struct image_source *src, const char *name, size_t max, char **buf,
                size_t *len, struct audit_error *err)
{
    struct member_reader *r = reader_open(src, name, err);
    if (!r)
        return -1;
    size_t cap = 4096, used = 0;
    char *data = malloc(cap);
    ssize_t n = 0;
    while (data && (n = reader_read(r)) > 0) {
        if (used + (size_t)n > max) {
            audit_fail(err, "'%s' is larger than %zu bytes; this is not image metadata", name,
                       max);
            goto fail;
        }
        if (used + (size_t)n + 1 > cap) {
            while (used + (size_t)n + 1 > cap)
                cap *= 2;
            char *grown = realloc(data, cap);
            if (!grown)
                break;
            data = grown;
        }
        memcpy(data + used, r->buf, (size_t)n);
        used += (size_t)n;
    }
    if (n < 0)
        audit_fail(err, "reading '%s': %s", name, strerror(errno));
    else if (!data || n > 0)
        audit_fail(err, "out of memory");
    if (n != 0 || !data)
        goto fail;
    data[used] = '\0';
    *buf = data;
    *len = used;
    reader_close(r);
    return 0;
fail:
    free(data);
    reader_close(r);
    return -1;
}

static la_ssize_t layer_read_cb(struct archive *a, void *ctx, const void **out)
{
    struct member_reader *r = ctx;
    ssize_t n = reader_read(r);
    if (n < 0)
        archive_set_error(a, errno, "reading the layer blob: %s", strerror(errno));
    *out = r->buf;
    return n;
}

static int layer_close_cb(struct archive *a, void *ctx)
{
    (void)a;
    reader_close(ctx);
    return ARCHIVE_OK;
}

struct archive *source_layer_open(struct image_source *src, const char *name,
                                  struct audit_error *err)
{
    struct member_reader *r = reader_open(src, name, err);
    if (!r)
        return NULL;
    struct archive *a = archive_read_new();
    if (!a) {
        reader_close(r);
        audit_fail(err, "out of memory");
        return NULL;
    }
    /* Only the compressions image layers use, all built into libarchive:
     * never one that runs an external program on untrusted data. */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_empty(a);
    /* archive_read_open calls the close callback (freeing r) on failure too. */
    if (archive_read_open(a, r, NULL, layer_read_cb, layer_close_cb) != ARCHIVE_OK) {
        audit_fail(err, "not a tar stream (plain, gzip or zstd): %s", archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

void source_layer_close(struct archive *layer)
{
    archive_read_free(layer);
}

#include "plugin/registry.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "effects/fsutil.h"

#define RECORD_MAX 4096

static void entry_free(struct registry_entry *e)
{
    free(e->id);
    free(e->pod_id);
    free(e->pod_namespace);
    free(e->pod_name);
    free(e->name);
    memset(e, 0, sizeof(*e));
}

void registry_free(struct registry *r)
{
    for (size_t i = 0; i < r->n; i++)
        entry_free(&r->v[i]);
    free(r->v);
    free(r->state_dir);
    memset(r, 0, sizeof(*r));
}

static struct registry_entry *find(const struct registry *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].id, id) == 0)
            return &r->v[i];
    return NULL;
}

const struct registry_entry *registry_find(const struct registry *r, const char *id)
{
    return find(r, id);
}

size_t registry_users(const struct registry *r, const char *userns)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += strcmp(r->v[i].userns, userns) == 0;
    return n;
}

size_t registry_pod_users(const struct registry *r, const char *pod_id)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += strcmp(r->v[i].pod_id, pod_id) == 0;
    return n;
}

/* Names from the runtime go into a line-based file: a control character
 * would break the line structure, so it is shown as '?'. */
static char *printable_copy(const char *s)
{
    char *c = strdup(s ? s : "");
    for (char *p = c; p && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return c;
}

static int append(struct registry *r, struct registry_entry *e)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        struct registry_entry *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return -1;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = *e;
    return 0;
}

static int record_path(const struct registry *r, const char *id, char *buf, size_t len)
{
    return fs_path(buf, len, "%s/containers/%s", r->state_dir, id);
}

int registry_add(struct registry *r, const char *id, const char *userns,
                 const char *pod_id, const char *pod_namespace, const char *pod_name,
                 const char *name, char *err, size_t errlen)
{
    if (!fs_safe_name(id)) {
        snprintf(err, errlen, "container ID \"%s\" cannot name a file", id);
        return -1;
    }
    struct registry_entry e = {
        .id = strdup(id),
        .pod_id = printable_copy(pod_id),
        .pod_namespace = printable_copy(pod_namespace),
        .pod_name = printable_copy(pod_name),
        .name = printable_copy(name),
    };
    snprintf(e.userns, sizeof(e.userns), "%s", userns);
    if (!e.id || !e.pod_id || !e.pod_namespace || !e.pod_name || !e.name) {
        entry_free(&e);
        snprintf(err, errlen, "out of memory");
        return -1;
    }

    char dir[PATH_MAX], path[PATH_MAX], text[RECORD_MAX];
    int len = snprintf(text, sizeof(text),
                       "userns %s\npod_id %s\npod_namespace %s\npod_name %s\ncontainer %s\n",
                       e.userns, e.pod_id, e.pod_namespace, e.pod_name, e.name);
    if (len < 0 || (size_t)len >= sizeof(text) ||
        fs_path(dir, sizeof(dir), "%s/containers", r->state_dir) < 0 ||
        record_path(r, id, path, sizeof(path)) < 0 || fs_mkdir_p(dir, 0700) < 0 ||
        fs_write_atomic(path, text, (size_t)len) < 0) {
        snprintf(err, errlen, "recording container %s under %s/containers: %s", id,
                 r->state_dir, len < 0 || (size_t)len >= sizeof(text) ? "names too long"
                                                                      : strerror(errno));
        entry_free(&e);
        return -1;
    }

    struct registry_entry *old = find(r, id);
    if (old) {
        entry_free(old);
        *old = e;
        return 0;
    }
    if (append(r, &e) < 0) {
        unlink(path);
        entry_free(&e);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

bool registry_remove(struct registry *r, const char *id, char userns[USERNS_NAME_MAX])
{
    struct registry_entry *e = find(r, id);
    if (!e)
        return false;
    char path[PATH_MAX];
    if (record_path(r, id, path, sizeof(path)) == 0 && unlink(path) < 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s; `uid-mapper status` may list a gone container",
                 path, strerror(errno));
    snprintf(userns, USERNS_NAME_MAX, "%s", e->userns);
    entry_free(e);
    *e = r->v[--r->n];
    return true;
}

/* The value of "key value" in a record, copied; NULL when absent. */
static char *field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *line = text; *line;) {
        const char *end = strchrnul(line, '\n');
        if ((size_t)(end - line) > klen && strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return strndup(line + klen + 1, (size_t)(end - line) - klen - 1);
        line = *end ? end + 1 : end;
    }
    return NULL;
}

static int load_one(struct registry *r, const char *id)
{
    char path[PATH_MAX];
    if (record_path(r, id, path, sizeof(path)) < 0)
        return -1;
    char *text = fs_read_text(path, RECORD_MAX);
    if (!text)
        return -1;
    char *userns = field(text, "userns");
    struct registry_entry e = {
        .id = strdup(id),
        .pod_id = field(text, "pod_id"),
        .pod_namespace = field(text, "pod_namespace"),
        .pod_name = field(text, "pod_name"),
        .name = field(text, "container"),
    };
    free(text);
    int rc = -1;
    if (userns && userns_name_valid(userns) && e.id && e.pod_id && e.pod_namespace &&
        e.pod_name && e.name) {
        snprintf(e.userns, sizeof(e.userns), "%s", userns);
        rc = append(r, &e);
    }
    if (rc < 0)
        entry_free(&e);
    free(userns);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}

/* Loads one record; a bad one is logged and skipped so that it cannot hide
 * the others. */
static int load_entry(const char *id, void *arg)
{
    struct registry *r = arg;
    size_t len = strlen(id);
    if (len > 4 && strcmp(id + len - 4, ".tmp") == 0)
        return 0; /* a write interrupted before its rename */
    if (load_one(r, id) < 0)
        log_warn("ignoring container record %s/containers/%s: %s; remove it if no such "
                 "container runs", r->state_dir, id,
                 errno == EINVAL ? "not a uid-mapper record" : strerror(errno));
    return 0;
}

int registry_load(struct registry *r, const char *state_dir, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    if (!(r->state_dir = strdup(state_dir))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (fs_foreach_entry(state_dir, "containers", load_entry, r) < 0) {
        snprintf(err, errlen, "reading %s/containers: %s", state_dir, strerror(errno));
        registry_free(r);
        return -1;
    }
    return 0;
}

#include "audit/manifest.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "audit/json.h"

static char *dup_or_fail(const char *s, struct audit_error *err)
{
    char *d = strdup(s);
    if (!d)
        audit_fail(err, "out of memory");
    return d;
}

static struct json *read_json(struct image_source *src, const char *name,
                              struct audit_error *err)
{
    char *text;
    size_t len;
    if (source_read(src, name, MANIFEST_MAX_BYTES, &text, &len, err) != 0)
        return NULL;
    struct json *doc = json_parse(text, len, err);
    free(text);
    if (!doc)
        audit_wrap(err, "%s", name);
    return doc;
}

/* "sha256:<hex>" -> "blobs/sha256/<hex>", refusing anything that could
 * leave the blobs directory. */
static char *blob_name(const char *digest, struct audit_error *err)
{
    const char *colon = digest ? strchr(digest, ':') : NULL;
    if (!colon || colon == digest || !colon[1] ||
        strspn(digest, "abcdefghijklmnopqrstuvwxyz0123456789+._-") != (size_t)(colon - digest) ||
        strspn(colon + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-") !=
            strlen(colon + 1)) {
        audit_fail(err, "bad digest '%s' in a descriptor", digest ? digest : "(missing)");
        return NULL;
    }
    size_t n = strlen(digest) + sizeof("blobs/");
    char *name = malloc(n);
    if (!name) {
        audit_fail(err, "out of memory");
        return NULL;
    }
    snprintf(name, n, "blobs/%.*s/%s", (int)(colon - digest), digest, colon + 1);
    return name;
}

/* Appends a member name to desc->layers (taking ownership). */
static int add_layer(struct image_desc *desc, char *name, struct audit_error *err)
{
    char **grown = name ? realloc(desc->layers, (desc->n_layers + 1) * sizeof(*grown)) : NULL;
    if (!grown) {
        if (name)
            audit_fail(err, "out of memory");
        free(name);
        return -1;
    }
    desc->layers = grown;
    desc->layers[desc->n_layers++] = name;
    return 0;
}

static void desc_free(struct image_desc *d)
{
    free(d->ref);
    free(d->config);
    for (size_t i = 0; i < d->n_layers; i++)
        free(d->layers[i]);
    free(d->layers);
}

static struct image_desc *add_image(struct image_list *list, struct audit_error *err)
{
    struct image_desc *grown = realloc(list->v, (list->n + 1) * sizeof(*grown));
    if (!grown) {
        audit_fail(err, "out of memory");
        return NULL;
    }
    list->v = grown;
    grown[list->n] = (struct image_desc){0};
    return &grown[list->n++];
}

/* The GOARCH name of this machine, as OCI platforms spell architectures. */
static const char *host_arch(void)
{
    static const struct { const char *uname, *oci; } names[] = {
        {"x86_64", "amd64"},   {"aarch64", "arm64"}, {"i686", "386"},
        {"armv7l", "arm"},     {"ppc64le", "ppc64le"}, {"s390x", "s390x"},
        {"riscv64", "riscv64"},
    };
    static struct utsname u;
    if (uname(&u) != 0)
        return "";
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(u.machine, names[i].uname) == 0)
            return names[i].oci;
    return u.machine;
}

/* From a multi-platform image index, the manifest for linux on this machine's
 * architecture, else the first manifest for a real platform (attestations
 * are listed as "unknown/unknown"). */
static const struct json *pick_platform(const struct json *manifests)
{
    const struct json *first = NULL;
    for (const struct json *d = manifests->child; d; d = d->next) {
        const struct json *platform = json_get(d, "platform");
        const char *os = json_get_str(platform, "os");
        const char *arch = json_get_str(platform, "architecture");
        if (os && strcmp(os, "unknown") == 0)
            continue;
        if (!first)
            first = d;
        if (os && arch && strcmp(os, "linux") == 0 && strcmp(arch, host_arch()) == 0)
            return d;
    }
    return first;
}

/* Fills desc from the descriptor d, which names an image manifest or
 * (through at most a few levels) an image index. */
static int oci_image(struct image_source *src, const struct json *d, struct image_desc *desc,
                     int depth, struct audit_error *err)
{
    char *name = blob_name(json_get_str(d, "digest"), err);
    struct json *doc = name ? read_json(src, name, err) : NULL;
    free(name);
    if (!doc)
        return -1;
    int rc = -1;
    const struct json *manifests = json_get(doc, "manifests");
    const struct json *layers = json_get(doc, "layers");
    if (manifests && manifests->type == JSON_ARRAY) {
        const struct json *chosen = pick_platform(manifests);
        if (depth >= 4)
            audit_fail(err, "image indexes nested too deeply");
        else if (!chosen)
            audit_fail(err, "the image index lists no image for any platform");
        else
            rc = oci_image(src, chosen, desc, depth + 1, err);
    } else if (layers && layers->type == JSON_ARRAY) {
        desc->config = blob_name(json_get_str(json_get(doc, "config"), "digest"), err);
        rc = desc->config ? 0 : -1;
        for (const struct json *l = layers->child; l && rc == 0; l = l->next)
            rc = add_layer(desc, blob_name(json_get_str(l, "digest"), err), err);
    } else {
        audit_fail(err, "a manifest blob is neither an image manifest nor an image index");
    }
    json_free(doc);
    return rc;
}

static const char *oci_name(const struct json *d)
{
    const struct json *ann = json_get(d, "annotations");
    const char *name = json_get_str(ann, "io.containerd.image.name");
    return name ? name : json_get_str(ann, "org.opencontainers.image.ref.name");
}

static const char *docker_name(const struct json *m)
{
    const struct json *tags = json_get(m, "RepoTags");
    return tags && tags->type == JSON_ARRAY && tags->child && tags->child->type == JSON_STRING
               ? tags->child->str
               : NULL;
}

static int docker_image(const struct json *m, struct image_desc *desc, struct audit_error *err)
{
    const char *config = json_get_str(m, "Config");
    const struct json *layers = json_get(m, "Layers");
    if (!config || !layers || layers->type != JSON_ARRAY) {
        audit_fail(err, "manifest.json: an entry lacks Config or Layers");
        return -1;
    }
    if (!(desc->config = dup_or_fail(config, err)))
        return -1;
    for (const struct json *l = layers->child; l; l = l->next) {
        if (l->type != JSON_STRING) {
            audit_fail(err, "manifest.json: a Layers item is not a string");
            return -1;
        }
        if (add_layer(desc, dup_or_fail(l->str, err), err) != 0)
            return -1;
    }
    return 0;
}

static int set_ref(struct image_desc *desc, const char *arg, const char *name, size_t index,
                   bool several, struct audit_error *err)
{
    char buf[4096];
    if (!several)
        snprintf(buf, sizeof(buf), "%s", arg);
    else if (name)
        snprintf(buf, sizeof(buf), "%s:%s", arg, name);
    else
        snprintf(buf, sizeof(buf), "%s:#%zu", arg, index + 1);
    return (desc->ref = dup_or_fail(buf, err)) ? 0 : -1;
}

/* One image per entry of the top-level list (index.json manifests, or the
 * manifest.json array). */
static int add_images(struct image_source *src, const struct json *list, bool oci,
                      const char *arg, struct image_list *out, struct audit_error *err)
{
    bool several = list->child->next != NULL;
    size_t i = 0;
    for (const struct json *d = list->child; d; d = d->next, i++) {
        struct image_desc *desc = add_image(out, err);
        if (!desc)
            return -1;
        if ((oci ? oci_image(src, d, desc, 0, err) : docker_image(d, desc, err)) != 0) {
            audit_wrap(err, "%s", arg);
            return -1;
        }
        if (set_ref(desc, arg, oci ? oci_name(d) : docker_name(d), i, several, err) != 0)
            return -1;
    }
    return 0;
}

int manifest_discover(struct image_source *src, const char *arg, struct image_list *out,
                      struct audit_error *err)
{
    *out = (struct image_list){0};
    bool oci = source_has(src, "index.json");
    if (!oci && !source_has(src, "manifest.json")) {
        audit_fail(err, "%s: neither index.json (OCI layout) nor manifest.json (docker-archive) "
                        "found; pass an OCI layout directory or an image tarball", arg);
        return -1;
    }
    const char *top_name = oci ? "index.json" : "manifest.json";
    struct json *top = read_json(src, top_name, err);
    if (!top) {
        audit_wrap(err, "%s", arg);
        return -1;
    }
    const struct json *list = oci ? json_get(top, "manifests") : top;
    int rc = -1;
    if (!list || list->type != JSON_ARRAY || !list->child)
        audit_fail(err, "%s: %s lists no image", arg, top_name);
    else
        rc = add_images(src, list, oci, arg, out, err);
    json_free(top);
    if (rc != 0)
        image_list_free(out);
    return rc;
}

void image_list_free(struct image_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        desc_free(&list->v[i]);
    free(list->v);
    *list = (struct image_list){0};
}

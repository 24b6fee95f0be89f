#include "audit/audit.h"

#include <stdlib.h>
#include <string.h>

#include "audit/image_file.h"
#include "audit/json.h"
#include "audit/layer.h"
#include "audit/manifest.h"
#include "audit/source.h"
#include "audit/tree.h"

static char *config_user(struct image_source *src, const struct image_desc *desc,
                         struct audit_error *err)
{
    char *text;
    size_t len;
    if (source_read(src, desc->config, MANIFEST_MAX_BYTES, &text, &len, err) != 0)
        return NULL;
    struct json *cfg = json_parse(text, len, err);
    free(text);
    if (!cfg) {
        audit_wrap(err, "config %s", desc->config);
        return NULL;
    }
    const char *user = json_get_str(json_get(cfg, "config"), "User");
    char *dup = strdup(user ? user : "");
    json_free(cfg);
    if (!dup)
        audit_fail(err, "out of memory");
    return dup;
}

static int apply_layers(struct image_source *src, const struct image_desc *desc,
                        struct tree *t, struct audit_error *err)
{
    for (size_t i = 0; i < desc->n_layers; i++) {
        struct archive *a = source_layer_open(src, desc->layers[i], err);
        int rc = a ? layer_apply(t, a, (uint32_t)i + 1, err) : -1;
        if (a)
            source_layer_close(a);
        if (rc != 0) {
            audit_wrap(err, "layer %zu (%s)", i + 1, desc->layers[i]);
            return -1;
        }
    }
    return 0;
}

/* Resolves the config's User through the image's own user databases. */
static int resolve_user(struct image_source *src, const struct image_desc *desc,
                        struct tree *t, struct image_audit *out, struct audit_error *err)
{
    char *passwd = NULL, *group = NULL;
    int rc = image_file(src, desc, t, "etc/passwd", &passwd, err) == 0 &&
                     image_file(src, desc, t, "etc/group", &group, err) == 0
                 ? userdb_resolve(out->user_spec, passwd, group, &out->user, err)
                 : -1;
    free(passwd);
    free(group);
    return rc;
}

static int audit_image(struct image_source *src, const struct image_desc *desc,
                       struct image_audit *out, struct audit_error *err)
{
    struct tree *t = tree_new();
    int rc = -1;
    if (!t) {
        audit_fail(err, "out of memory");
        return -1;
    }
    if (!(out->ref = strdup(desc->ref)))
        audit_fail(err, "out of memory");
    else if ((out->user_spec = config_user(src, desc, err)) &&
             apply_layers(src, desc, t, err) == 0 && resolve_user(src, desc, t, out, err) == 0) {
        rc = census_take(t, &out->uids, &out->gids);
        if (rc != 0)
            audit_fail(err, "out of memory");
    }
    tree_free(t);
    if (rc != 0)
        audit_wrap(err, "%s", desc->ref);
    return rc;
}

static void image_audit_free(struct image_audit *a)
{
    free(a->ref);
    free(a->user_spec);
    census_free(&a->uids);
    census_free(&a->gids);
}

int audit_path(const char *path, struct audit_set *set, struct audit_error *err)
{
    struct image_source *src = source_open(path, err);
    if (!src)
        return -1;
    struct image_list images;
    int rc = manifest_discover(src, path, &images, err);
    if (rc != 0) {
        source_close(src);
        return -1;
    }
    for (size_t i = 0; rc == 0 && i < images.n; i++) {
        struct image_audit *grown = realloc(set->v, (set->n + 1) * sizeof(*grown));
        if (!grown) {
            audit_fail(err, "out of memory");
            rc = -1;
            break;
        }
        set->v = grown;
        grown[set->n] = (struct image_audit){0};
        rc = audit_image(src, &images.v[i], &grown[set->n], err);
        if (rc == 0)
            set->n++;
        else
            image_audit_free(&grown[set->n]);
    }
    image_list_free(&images);
    source_close(src);
    return rc;
}

void audit_set_free(struct audit_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        image_audit_free(&set->v[i]);
    free(set->v);
    *set = (struct audit_set){0};
}

#include "plugin/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct parse_ctx {
    yaml_document_t *doc;
    struct mapper_config *cfg;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parse_ctx *p,
                                                      const char *fmt, ...)
{
    int n = snprintf(p->err, p->errlen, "config: ");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < p->errlen)
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a sequence";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

/* A plain scalar spelled null, ~ or nothing is YAML's null: "key:" with no
 * value. Treated as a mistake rather than as "default", so that a half-edited
 * line is reported instead of silently ignored. */
static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* The text of a scalar node, or NULL (with err set) for anything else. */
static const char *scalar(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    if (is_null(n)) {
        fail(p, "%s: has no value", key);
        return NULL;
    }
    if (n->type != YAML_SCALAR_NODE) {
        fail(p, "%s: expected a single value, got %s", key, node_kind(n));
        return NULL;
    }
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
        fail(p, "%s: value contains a NUL byte", key);
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

/* One ID as YAML writes an integer: a plain (unquoted) decimal number. */
static int parse_id(struct parse_ctx *p, const char *key, size_t idx,
                    const yaml_node_t *n, uint32_t *out)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail(p, "%s[%zu]: expected an integer ID, got %s", key, idx, node_kind(n));
    const char *v = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fail(p, "%s[%zu]: expected an integer ID, got the quoted string \"%s\"",
                    key, idx, v);
    size_t len = strlen(v);
    if (len == 0 || len > 10 || strspn(v, "0123456789") != len)
        return fail(p, "%s[%zu]: \"%s\" is not a decimal ID", key, idx, v);
    unsigned long long id = strtoull(v, NULL, 10);
    if (id > UINT32_MAX - 1) /* (uid_t)-1 means "no ID" to the kernel */
        return fail(p, "%s[%zu]: %s is out of range (IDs are 0-4294967294)", key, idx, v);
    *out = (uint32_t)id;
    return 0;
}

static int parse_id_list(struct parse_ctx *p, const char *key, const yaml_node_t *n,
                         uint32_t **ids, size_t *nids)
{
    if (n->type == YAML_SCALAR_NODE && !is_null(n))
        return fail(p, "%s: expected a YAML sequence of integers such as [0, 65534], "
                       "got the single value \"%s\"",
                    key, (const char *)n->data.scalar.value);
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(p, "%s: expected a YAML sequence of integers such as [0, 65534]", key);

    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    uint32_t *out = calloc(count ? count : 1, sizeof(*out));
    if (!out)
        return fail(p, "%s: out of memory", key);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        if (parse_id(p, key, i, item, &out[i]) < 0) {
            free(out);
            return -1;
        }
    }
    *ids = out;
    *nids = count;
    return 0;
}

static int set_pool(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    const char *v = scalar(p, key, n);
    if (!v)
        return -1;
    char why[256];
    if (pool_parse_ranges(v, &p->cfg->pool, why, sizeof(why)) < 0)
        return fail(p, "%s: \"%s\": %s", key, v, why);
    p->cfg->has_pool = true;
    return 0;
}

static int set_extra_uids(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    return parse_id_list(p, key, n, &p->cfg->extra_uids, &p->cfg->nextra_uids);
}

static int set_extra_gids(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    return parse_id_list(p, key, n, &p->cfg->extra_gids, &p->cfg->nextra_gids);
}

static int set_state_dir(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    const char *v = scalar(p, key, n);
    if (!v)
        return -1;
    if (v[0] != '/' || strcmp(v, "/") == 0)
        return fail(p, "%s: \"%s\" must be an absolute directory path other than /", key, v);
    if (strlen(v) >= CONFIG_STATE_DIR_MAX)
        return fail(p, "%s: path is longer than %d bytes", key, CONFIG_STATE_DIR_MAX - 1);
    if (strstr(v, "/../") || strstr(v, "/./") || strstr(v, "//"))
        return fail(p, "%s: \"%s\" must be a plain path (no //, . or .. parts)", key, v);
    char *copy = strdup(v);
    if (!copy)
        return fail(p, "%s: out of memory", key);
    for (size_t len = strlen(copy); len > 1 && copy[len - 1] == '/'; len--)
        copy[len - 1] = '\0';
    size_t len = strlen(copy);
    if ((len >= 3 && strcmp(copy + len - 3, "/..") == 0) ||
        (len >= 2 && strcmp(copy + len - 2, "/.") == 0)) {
        free(copy);
        return fail(p, "%s: \"%s\" must be a plain path (no //, . or .. parts)", key, v);
    }
    p->cfg->state_dir = copy;
    return 0;
}

static int set_skip_namespaces(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return fail(p, "%s: expected a YAML sequence of namespace names such as "
                       "[kube-system], got %s", key, node_kind(n));
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    char **names = calloc(count ? count : 1, sizeof(*names));
    if (!names)
        return fail(p, "%s: out of memory", key);
    p->cfg->skip_namespaces = names;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(p->doc, n->data.sequence.items.start[i]);
        char label[64];
        snprintf(label, sizeof(label), "%s[%zu]", key, i);
        const char *v = scalar(p, label, item);
        if (!v)
            return -1;
        if (!*v)
            return fail(p, "%s: empty namespace name", label);
        if (!(names[i] = strdup(v)))
            return fail(p, "%s: out of memory", key);
        p->cfg->nskip_namespaces = i + 1;
    }
    return 0;
}

static int set_on_error(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    const char *v = scalar(p, key, n);
    if (!v)
        return -1;
    if (strcmp(v, "fail") == 0)
        p->cfg->on_error = ON_ERROR_FAIL;
    else if (strcmp(v, "skip") == 0)
        p->cfg->on_error = ON_ERROR_SKIP;
    else
        return fail(p, "%s: \"%s\" is not one of fail, skip", key, v);
    return 0;
}

static int set_log_level(struct parse_ctx *p, const char *key, const yaml_node_t *n)
{
    const char *v = scalar(p, key, n);
    if (!v)
        return -1;
    if (log_level_parse(v, &p->cfg->log_level) < 0)
        return fail(p, "%s: \"%s\" is not one of error, warn, info, debug", key, v);
    p->cfg->has_log_level = true;
    return 0;
}

static const struct key_handler {
    const char *key;
    int (*set)(struct parse_ctx *p, const char *key, const yaml_node_t *value);
} keys[] = {
    {"pool", set_pool},
    {"extra_uids", set_extra_uids},
    {"extra_gids", set_extra_gids},
    {"state_dir", set_state_dir},
    {"skip_namespaces", set_skip_namespaces},
    {"on_error", set_on_error},
    {"log_level", set_log_level},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
#define KNOWN_KEYS \
    "pool, extra_uids, extra_gids, state_dir, skip_namespaces, on_error, log_level"

static int parse_root(struct parse_ctx *p, const yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE)
        return fail(p, "expected a mapping of keys (" KNOWN_KEYS "), got %s",
                    node_kind(root));
    bool seen[NKEYS] = {false};
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
        if (k->type != YAML_SCALAR_NODE)
            return fail(p, "a key must be a plain name, got %s", node_kind(k));
        const char *name = (const char *)k->data.scalar.value;
        size_t i = 0;
        while (i < NKEYS && strcmp(keys[i].key, name) != 0)
            i++;
        if (i == NKEYS)
            return fail(p, "unknown key \"%s\" (known: " KNOWN_KEYS ")", name);
        if (seen[i])
            return fail(p, "key \"%s\" is given more than once", name);
        seen[i] = true;
        if (keys[i].set(p, name, v) < 0)
            return -1;
    }
    return 0;
}

static int syntax_error(struct parse_ctx *p, const yaml_parser_t *parser)
{
    return fail(p, "invalid YAML at line %zu: %s", parser->problem_mark.line + 1,
                parser->problem ? parser->problem : "parse error");
}

static int parse_text(struct parse_ctx *p, const char *text)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return fail(p, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));

    int rc = 0;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = syntax_error(p, &parser);
        yaml_parser_delete(&parser);
        return rc;
    }
    p->doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && !is_null(root))
        rc = parse_root(p, root);
    yaml_document_delete(&doc);

    /* A second document ("---") would be ignored by the loop above; say so. */
    if (rc == 0) {
        if (!yaml_parser_load(&parser, &doc)) {
            rc = syntax_error(p, &parser);
        } else {
            if (yaml_document_get_root_node(&doc))
                rc = fail(p, "more than one YAML document; give one mapping of keys");
            yaml_document_delete(&doc);
        }
    }
    yaml_parser_delete(&parser);
    return rc;
}

int config_parse(const char *text, struct mapper_config *out, char *err, size_t errlen)
{
    struct mapper_config cfg = {.on_error = ON_ERROR_FAIL};
    struct parse_ctx p = {.cfg = &cfg, .err = err, .errlen = errlen};

    if (text && strlen(text) > 0 && parse_text(&p, text) < 0) {
        config_free(&cfg);
        memset(out, 0, sizeof(*out));
        return -1;
    }
    if (!cfg.state_dir && !(cfg.state_dir = strdup(CONFIG_DEFAULT_STATE_DIR))) {
        config_free(&cfg);
        memset(out, 0, sizeof(*out));
        return fail(&p, "out of memory");
    }
    *out = cfg;
    return 0;
}

void config_free(struct mapper_config *c)
{
    free(c->extra_uids);
    free(c->extra_gids);
    free(c->state_dir);
    for (size_t i = 0; i < c->nskip_namespaces; i++)
        free(c->skip_namespaces[i]);
    free(c->skip_namespaces);
    memset(c, 0, sizeof(*c));
}

bool config_skips_namespace(const struct mapper_config *c, const char *pod_ns)
{
    for (size_t i = 0; i < c->nskip_namespaces; i++)
        if (strcmp(c->skip_namespaces[i], pod_ns) == 0)
            return true;
    return false;
}

const char *on_error_name(enum on_error e)
{
    return e == ON_ERROR_SKIP ? "skip" : "fail";
}

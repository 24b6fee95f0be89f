/* A small strict JSON reader for image metadata (OCI index and manifests,
 * docker-archive manifest.json, image configs). The whole document is parsed
 * into a tree; the files it reads are small and bounded by the caller. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "audit/error.h"

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    enum json_type type;
    char *key;           /* member name when inside an object */
    char *str;           /* JSON_STRING: decoded UTF-8, no NUL inside */
    double num;          /* JSON_NUMBER */
    bool boolean;        /* JSON_BOOL */
    struct json *child;  /* JSON_ARRAY / JSON_OBJECT: first element */
    struct json *next;   /* next element of the enclosing array/object */
};

/* Parses exactly one JSON value (surrounding whitespace allowed). Returns
 * NULL with err saying where the text is malformed. */
struct json *json_parse(const char *text, size_t len, struct audit_error *err);
void json_free(struct json *v);

/* The member named key of an object (the last one if repeated), or NULL when
 * v is not an object or has no such member. */
const struct json *json_get(const struct json *v, const char *key);
/* The string member key, or NULL when absent or not a string. */
const char *json_get_str(const struct json *v, const char *key);

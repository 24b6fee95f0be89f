/* Recursive descent over RFC 8259 JSON with a nesting limit, so hostile
 * image metadata cannot exhaust the stack. */
#include "audit/json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct parser {
    const char *s, *end;
    const char *start;
    struct audit_error *err;
};

static bool fail(struct parser *p, const char *what)
{
    audit_fail(p->err, "malformed JSON at byte %zu: %s", (size_t)(p->s - p->start), what);
    return false;
}

static void skip_space(struct parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static bool literal(struct parser *p, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0)
        return fail(p, "unexpected character");
    p->s += n;
    return true;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads the \uXXXX escape at p->s (after the backslash and 'u'), joining a
 * surrogate pair. */
static bool unicode_escape(struct parser *p, uint32_t *cp)
{
    if (p->end - p->s < 4 || (*cp = (uint32_t)hex4(p->s)) > 0xFFFF)
        return fail(p, "bad \\u escape");
    p->s += 4;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return fail(p, "unpaired low surrogate");
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        int low;
        if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u' ||
            (low = hex4(p->s + 2)) < 0xDC00 || low > 0xDFFF)
            return fail(p, "unpaired high surrogate");
        p->s += 6;
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
    }
    if (*cp == 0)
        return fail(p, "\\u0000 in a string");
    return true;
}

static bool string(struct parser *p, char **out)
{
    p->s++; /* opening quote */
    const char *close = p->s;
    while (close < p->end && *close != '"')
        close += *close == '\\' ? 2 : 1;
    if (close >= p->end)
        return fail(p, "unterminated string");
    /* Decoding never grows the text: every escape is at least as long as
     * the UTF-8 it stands for. */
    char *buf = malloc((size_t)(close - p->s) + 1), *o = buf;
    if (!buf)
        return fail(p, "out of memory");
    while (p->s < close) {
        unsigned char c = (unsigned char)*p->s++;
        if (c < 0x20) {
            free(buf);
            return fail(p, "control character in a string");
        }
        if (c != '\\') {
            *o++ = (char)c;
            continue;
        }
        char e = *p->s++;
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *hit = e ? strchr(from, e) : NULL;
        uint32_t cp;
        if (hit) {
            *o++ = to[hit - from];
        } else if (e == 'u' && unicode_escape(p, &cp)) {
            o += put_utf8(o, cp);
        } else {
            free(buf);
            return e == 'u' ? false : fail(p, "bad escape in a string");
        }
    }
    *o = '\0';
    p->s = close + 1;
    *out = buf;
    return true;
}

static bool number(struct parser *p, double *out)
{
    const char *s = p->s;
    if (s < p->end && *s == '-')
        s++;
    if (s >= p->end || *s < '0' || *s > '9')
        return fail(p, "unexpected character");
    if (*s == '0')
        s++;
    else
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    if (s < p->end && *s == '.') {
        if (++s >= p->end || *s < '0' || *s > '9')
            return fail(p, "bad number");
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    if (s < p->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < p->end && (*s == '+' || *s == '-'))
            s++;
        if (s >= p->end || *s < '0' || *s > '9')
            return fail(p, "bad number");
        while (s < p->end && *s >= '0' && *s <= '9')
            s++;
    }
    char tmp[64];
    size_t n = (size_t)(s - p->s);
    if (n >= sizeof(tmp))
        return fail(p, "number too long");
    memcpy(tmp, p->s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    p->s = s;
    return true;
}

static bool value(struct parser *p, struct json *v, int depth);

/* Parses the elements of an array or the members of an object after the
 * opening bracket, appending them to v->child. */
static bool elements(struct parser *p, struct json *v, char close, int depth)
{
    struct json **tail = &v->child;
    p->s++;
    skip_space(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        return true;
    }
    for (;;) {
        struct json *item = calloc(1, sizeof(*item));
        if (!item)
            return fail(p, "out of memory");
        *tail = item;
        tail = &item->next;
        skip_space(p);
        if (close == '}') {
            if (p->s >= p->end || *p->s != '"')
                return fail(p, "expected a member name");
            if (!string(p, &item->key))
                return false;
            skip_space(p);
            if (p->s >= p->end || *p->s != ':')
                return fail(p, "expected ':'");
            p->s++;
        }
        if (!value(p, item, depth + 1))
            return false;
        skip_space(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            return true;
        }
        return fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool value(struct parser *p, struct json *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return fail(p, "nested too deeply");
    skip_space(p);
    if (p->s >= p->end)
        return fail(p, "unexpected end");
    switch (*p->s) {
    case '{':
        v->type = JSON_OBJECT;
        return elements(p, v, '}', depth);
    case '[':
        v->type = JSON_ARRAY;
        return elements(p, v, ']', depth);
    case '"':
        v->type = JSON_STRING;
        return string(p, &v->str);
    case 't':
        v->type = JSON_BOOL;
        v->boolean = true;
        return literal(p, "true");
    case 'f':
        v->type = JSON_BOOL;
        return literal(p, "false");
    case 'n':
        v->type = JSON_NULL;
        return literal(p, "null");
    default:
        v->type = JSON_NUMBER;
        return number(p, &v->num);
    }
}

struct json *json_parse(const char *text, size_t len, struct audit_error *err)
{
    struct parser p = {.s = text, .end = text + len, .start = text, .err = err};
    struct json *root = calloc(1, sizeof(*root));
    if (!root) {
        audit_fail(err, "out of memory");
        return NULL;
    }
    bool ok = value(&p, root, 0);
    if (ok) {
        skip_space(&p);
        if (p.s != p.end)
            ok = fail(&p, "trailing data after the value");
    }
    if (!ok) {
        json_free(root);
        return NULL;
    }
    return root;
}

void json_free(struct json *v)
{
    /* Siblings iteratively, children recursively: depth is bounded by
     * JSON_MAX_DEPTH, breadth is not. */
    while (v) {
        struct json *next = v->next;
        json_free(v->child);
        free(v->key);
        free(v->str);
        free(v);
        v = next;
    }
}

const struct json *json_get(const struct json *v, const char *key)
{
    const struct json *found = NULL;
    if (!v || v->type != JSON_OBJECT)
        return NULL;
    for (const struct json *m = v->child; m; m = m->next)
        if (strcmp(m->key, key) == 0)
            found = m;
    return found;
}

const char *json_get_str(const struct json *v, const char *key)
{
    const struct json *m = json_get(v, key);
    return m && m->type == JSON_STRING ? m->str : NULL;
}

/* uid_map/gid_map text: parsing (with the kernel's validity rules, so a bad
 * map is reported by line before anything acts on it) and formatting. */
#include "policy/idmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/decimal.h"

struct numbered_extent {
    struct id_extent e;
    unsigned line;
};

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static const char *skip_blanks(const char *s)
{
    while (is_blank(*s))
        s++;
    return s;
}

/* Parses "C H N" followed by blanks up to the end of the line. Returns the
 * end of the line, or NULL when the line is not three numbers. */
static const char *parse_line(const char *s, struct id_extent *e)
{
    uint32_t v[3];
    for (int i = 0; i < 3; i++) {
        if (i > 0 && !is_blank(*s))
            return NULL;
        s = decimal_u32(skip_blanks(s), &v[i]);
        if (!s)
            return NULL;
    }
    s = skip_blanks(s);
    if (*s != '\n' && *s != '\0')
        return NULL;
    *e = (struct id_extent){.container_id = v[0], .host_id = v[1], .size = v[2]};
    return s;
}

static uint64_t range_end(uint32_t first, uint32_t size)
{
    return (uint64_t)first + size; /* exclusive */
}

static int by_container(const void *a, const void *b)
{
    const struct numbered_extent *x = a, *y = b;
    return (x->e.container_id > y->e.container_id) - (x->e.container_id < y->e.container_id);
}

static int by_host(const void *a, const void *b)
{
    const struct numbered_extent *x = a, *y = b;
    return (x->e.host_id > y->e.host_id) - (x->e.host_id < y->e.host_id);
}

/* The kernel refuses a map whose ranges overlap in either column. Sorts x
 * by that column and reports the first overlapping pair. */
static int check_overlap(struct numbered_extent *x, size_t n, int host_column,
                         char *err, size_t errlen)
{
    qsort(x, n, sizeof(*x), host_column ? by_host : by_container);
    for (size_t i = 1; i < n; i++) {
        uint32_t prev = host_column ? x[i - 1].e.host_id : x[i - 1].e.container_id;
        uint32_t cur = host_column ? x[i].e.host_id : x[i].e.container_id;
        if (range_end(prev, x[i - 1].e.size) > cur) {
            unsigned a = x[i - 1].line < x[i].line ? x[i - 1].line : x[i].line;
            unsigned b = x[i - 1].line < x[i].line ? x[i].line : x[i - 1].line;
            snprintf(err, errlen,
                     "line %u: its %s range overlaps line %u's; a map must be one-to-one",
                     b, host_column ? "second-column" : "first-column", a);
            return -1;
        }
    }
    return 0;
}

int idmap_parse(const char *text, struct id_mapping *out, char *err, size_t errlen)
{
    struct numbered_extent x[IDMAP_MAX_EXTENTS];
    size_t n = 0;
    unsigned line = 0;

    for (const char *s = text; *s != '\0'; s++) {
        line++;
        s = skip_blanks(s);
        if (*s == '\n')
            continue; /* blank line */
        if (*s == '\0')
            break;
        if (n == IDMAP_MAX_EXTENTS) {
            snprintf(err, errlen, "line %u: more than %d ranges (the kernel's limit)",
                     line, IDMAP_MAX_EXTENTS);
            return -1;
        }
        struct id_extent e;
        const char *end = parse_line(s, &e);
        if (!end) {
            snprintf(err, errlen,
                     "line %u: expected three decimal numbers \"ID HOST-ID COUNT\", "
                     "each at most 4294967295",
                     line);
            return -1;
        }
        if (e.size == 0) {
            snprintf(err, errlen, "line %u: the count is 0; every range needs at least one ID",
                     line);
            return -1;
        }
        if (range_end(e.container_id, e.size) - 1 > IDMAP_MAX_ID ||
            range_end(e.host_id, e.size) - 1 > IDMAP_MAX_ID) {
            snprintf(err, errlen,
                     "line %u: the range goes past %" PRIu32 ", the largest valid ID",
                     line, IDMAP_MAX_ID);
            return -1;
        }
        x[n++] = (struct numbered_extent){.e = e, .line = line};
        s = end;
        if (*s == '\0')
            break;
    }

    if (check_overlap(x, n, 1, err, errlen) < 0 || check_overlap(x, n, 0, err, errlen) < 0)
        return -1;

    /* The first-column check left x sorted by container_id. */
    for (size_t i = 0; i < n; i++)
        out->e[i] = x[i].e;
    out->n = idmap_merge_runs(out->e, n);
    return 0;
}

size_t idmap_merge_runs(struct id_extent *e, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct id_extent *last = m ? &e[m - 1] : NULL;
        if (last && range_end(last->container_id, last->size) == e[i].container_id &&
            range_end(last->host_id, last->size) == e[i].host_id)
            last->size += e[i].size;
        else
            e[m++] = e[i];
    }
    return m;
}

static size_t decimal_digits(uint32_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

size_t idmap_text_len(const struct id_mapping *m)
{
    size_t len = 0;
    for (size_t i = 0; i < m->n; i++) /* "C H N\n" */
        len += decimal_digits(m->e[i].container_id) + decimal_digits(m->e[i].host_id) +
               decimal_digits(m->e[i].size) + 3;
    return len;
}

int idmap_format(const struct id_mapping *m, char *buf, size_t len)
{
    size_t used = 0;
    if (len > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < m->n; i++) {
        int w = snprintf(buf + used, len - used, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                         m->e[i].container_id, m->e[i].host_id, m->e[i].size);
        if (w < 0 || (size_t)w >= len - used)
            return -1;
        used += (size_t)w;
    }
    return used > INT32_MAX ? -1 : (int)used;
}

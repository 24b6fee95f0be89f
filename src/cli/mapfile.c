#include "cli/mapfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_TEXT_MAX (1 << 20) /* 340 lines of padded numbers need ~11 KiB */

char *mapfile_read(const char *path, char *err, size_t errlen)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAP_TEXT_MAX + 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory reading %s", path);
    } else {
        size_t n = fread(buf, 1, MAP_TEXT_MAX + 1, f);
        const char *why = ferror(f)           ? strerror(errno)
                          : n > MAP_TEXT_MAX  ? "too large for a uid_map or gid_map"
                          : memchr(buf, '\0', n) ? "it holds a NUL byte, which no uid_map or gid_map does"
                                              : NULL;
        if (why) {
            snprintf(err, errlen, "cannot read %s: %s", path, why);
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    if (!is_stdin)
        fclose(f);
    return buf;
}

int mapfile_pool(const char *path, const char *text, const char *narrow_spec,
                 struct id_pool *pool, char *err, size_t errlen)
{
    char why[256];
    if (pool_from_map_text(text, pool, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (narrow_spec) {
        struct id_pool narrow;
        if (pool_parse_ranges(narrow_spec, &narrow, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "--pool: %s", why);
            return -1;
        }
        pool_intersect(pool, &narrow);
    }
    return 0;
}

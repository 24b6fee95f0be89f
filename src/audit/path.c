#include "audit/path.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

int path_clean(const char *path, char *out, size_t outlen)
{
    size_t len = 0;
    if (outlen == 0)
        return -1;
    while (*path) {
        while (*path == '/')
            path++;
        const char *slash = strchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) : strlen(path);
        if (n == 0 || (n == 1 && path[0] == '.')) {
            /* nothing to add */
        } else if (n == 2 && path[0] == '.' && path[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--; /* the separator before the dropped component */
        } else {
            if (len + (len > 0) + n >= outlen)
                return -1;
            if (len > 0)
                out[len++] = '/';
            memcpy(out + len, path, n);
            len += n;
        }
        path += n;
    }
    out[len] = '\0';
    return 0;
}

int path_follow(const char *link, const char *target, char *out, size_t outlen)
{
    char joined[2 * PATH_MAX + 2];
    const char *slash = strrchr(link, '/');
    int dirlen = slash && target[0] != '/' ? (int)(slash - link) : 0;
    int n = snprintf(joined, sizeof(joined), "%.*s/%s", dirlen, link, target);
    return n < 0 || (size_t)n >= sizeof(joined) ? -1 : path_clean(joined, out, outlen);
}

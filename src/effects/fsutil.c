#include "effects/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_path(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (fs_path(buf, sizeof(buf), "%s", path) < 0)
        return -1;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        if (saved == '\0')
            break;
        *p = saved;
    }
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int fs_write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX];
    if (fs_path(tmp, sizeof(tmp), "%s.tmp", path) < 0)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len);
    int saved = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -1;
        saved = errno;
    }
    if (rc < 0) {
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

char *fs_read_text(const char *path, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(max + 1);
    size_t used = 0;
    while (buf) {
        ssize_t n = read(fd, buf + used, max + 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            buf = NULL;
        } else if (n == 0) {
            buf[used] = '\0';
            break;
        } else if ((used += (size_t)n) > max) {
            free(buf);
            buf = NULL;
            errno = EFBIG;
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return buf;
}

void fs_unmount_all(const char *path)
{
    /* Bounded: a path can only carry as many mounts as someone stacked on
     * it, and each round removes one. */
    for (int i = 0; i < 64 && umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0; i++)
        ;
}

bool fs_safe_name(const char *s)
{
    size_t len = strlen(s);
    return len > 0 && len <= 255 && s[0] != '.' &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == len;
}

int fs_foreach_entry(const char *parent, const char *sub,
                     int (*fn)(const char *name, void *arg), void *arg)
{
    char dir[PATH_MAX];
    if (fs_path(dir, sizeof(dir), "%s/%s", parent, sub) < 0)
        return -1;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)))
        if (fs_safe_name(de->d_name))
            rc = fn(de->d_name, arg);
    closedir(d);
    return rc;
}

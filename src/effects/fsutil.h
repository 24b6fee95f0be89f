/* Small file-system helpers shared by the effects modules. Functions that
 * return int give 0 on success and -1 with errno set on failure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* snprintf into buf; -1 with ENAMETOOLONG when the result does not fit. */
int fs_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* mkdir -p: creates missing components with mode; existing ones are fine. */
int fs_mkdir_p(const char *path, mode_t mode);

/* Replaces path's content atomically: writes path.tmp, then renames it. */
int fs_write_atomic(const char *path, const char *data, size_t len);

/* Reads a whole file of at most max bytes as a NUL-terminated malloc'd
 * string; NULL with errno (EFBIG when it is larger). */
char *fs_read_text(const char *path, size_t max);

/* Detaches every mount stacked on path (none is fine). */
void fs_unmount_all(const char *path);

/* Is s usable as one path component: non-empty, at most 255 bytes, only
 * [A-Za-z0-9_.-], not starting with '.'? IDs from the runtime are checked
 * with this before they name anything under the state directory. */
bool fs_safe_name(const char *s);

/* Calls fn for each entry of the directory parent/sub whose name passes
 * fs_safe_name() (so never "." or ".."), in no particular order; stops at
 * and returns fn's first non-zero result. A missing directory is empty;
 * -1 with errno when it cannot be opened. */
int fs_foreach_entry(const char *parent, const char *sub,
                     int (*fn)(const char *name, void *arg), void *arg);

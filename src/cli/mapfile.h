/* The uid_map/gid_map files whose first column `plan` and `audit` take as a
 * pool of IDs (by default this process's own /proc/self/uid_map, gid_map). */
#pragma once
#include <stddef.h>

#include "policy/idmap.h"

/* Reads a whole map file ("-" is standard input) as a NUL-terminated
 * malloc'd string. NULL with err "cannot open PATH: ..." or "cannot read
 * PATH: ...". */
char *mapfile_read(const char *path, char *err, size_t errlen);

/* The pool of map text read from path, narrowed to the ranges of
 * narrow_spec ("0-2047,65534") unless it is NULL. -1 with err naming path or
 * --pool. */
int mapfile_pool(const char *path, const char *text, const char *narrow_spec,
                 struct id_pool *pool, char *err, size_t errlen);

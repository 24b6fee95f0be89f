/* Pinned user namespaces: one per distinct (uid map, gid map) pair, kept
 * alive by a bind mount of its nsfs file so runc can join it by path.
 *
 * Layout under the state directory (default /run/uid-mapper):
 *   STATE/userns/<name>       nsfs bind mount of the namespace
 *   STATE/userns/<name>.map   its maps, "uid_map:\n<lines>gid_map:\n<lines>",
 *                             written (tmp + rename) only after the bind
 *                             mount succeeded
 * <name> is the FNV-1a 64 hash of the .map text in hex, so equal maps find
 * the same file; on a hash clash (recorded maps differ) the next name in
 * <hash>-1 ... <hash>-15 is used. A namespace file without its .map is
 * half-made (the plugin stopped mid-creation) and is removed by
 * userns_recover() and whenever userns_ensure() meets it; release removes
 * the .map first so an interrupted release looks half-made too. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "policy/idmap.h"

/* "<16 hex>" or "<16 hex>-<n>", NUL included. */
#define USERNS_NAME_MAX 32
/* Room for two maps of IDMAP_MAX_EXTENTS lines of three 10-digit numbers. */
#define USERNS_MAPS_TEXT_MAX (2 * IDMAP_MAX_EXTENTS * 33 + 32)

/* The canonical .map text of a pair of maps. Returns its length or -1. */
int userns_maps_format(const struct id_mapping *uid, const struct id_mapping *gid,
                       char *buf, size_t len);
/* Parses .map text back; returns 0 or -1 with err. */
int userns_maps_parse(const char *text, struct id_mapping *uid, struct id_mapping *gid,
                      char *err, size_t errlen);

/* Is name one that userns_ensure() could have made (safe as a file name)? */
bool userns_name_valid(const char *name);
/* STATE/userns/<name> into buf; -1 if it does not fit. */
int userns_path(const char *state_dir, const char *name, char *buf, size_t len);

/* Finds the pinned namespace with exactly these maps or creates it. On
 * success name holds its name and *created says whether it is new. Returns
 * 0, or -1 with err saying what failed and what to check; a failed creation
 * leaves nothing behind. */
int userns_ensure(const char *state_dir, const struct id_mapping *uid,
                  const struct id_mapping *gid, char name[USERNS_NAME_MAX],
                  bool *created, char *err, size_t errlen);

/* Unmounts and removes a pinned namespace. Returns 0 or -1 with err. */
int userns_release(const char *state_dir, const char *name, char *err, size_t errlen);

/* Reads the recorded maps of a complete pinned namespace. */
int userns_read_maps(const char *state_dir, const char *name, struct id_mapping *uid,
                     struct id_mapping *gid, char *err, size_t errlen);

/* Removes every half-made or stale entry under STATE/userns (see above).
 * Returns the number removed, or -1 if the directory cannot be read. */
int userns_recover(const char *state_dir);

/* Calls fn for each complete pinned namespace, in no particular order; stops
 * at and returns fn's first non-zero result. A missing directory is empty. */
int userns_foreach(const char *state_dir, int (*fn)(const char *name, void *arg),
                   void *arg);

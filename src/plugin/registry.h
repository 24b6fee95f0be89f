/* Which container uses which pinned user namespace, in memory and on disk.
 *
 * One file per container, STATE/containers/<container-id>, with lines
 *   userns <namespace name>
 *   pod_id <pod sandbox id>
 *   pod_namespace <Kubernetes namespace>
 *   pod_name <pod name>
 *   container <container name>
 * The plugin counts users from memory; the files let `uid-mapper status`
 * (another process) show who uses what, and survive a plugin restart until
 * Synchronize says which containers still exist. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "effects/userns.h"

struct registry_entry {
    char *id;
    char userns[USERNS_NAME_MAX];
    char *pod_id;
    char *pod_namespace;
    char *pod_name;
    char *name;
};

struct registry {
    char *state_dir;
    struct registry_entry *v;
    size_t n, cap;
};

/* Loads every record under STATE/containers (records that cannot be read
 * are logged and skipped). Returns 0 or -1 with err; either way release
 * it with registry_free(). */
int registry_load(struct registry *r, const char *state_dir, char *err, size_t errlen);
void registry_free(struct registry *r);

/* Records (or re-records) a container. Strings are copied. */
int registry_add(struct registry *r, const char *id, const char *userns,
                 const char *pod_id, const char *pod_namespace, const char *pod_name,
                 const char *name, char *err, size_t errlen);

/* Forgets a container. Returns true and its namespace name in userns if it
 * was recorded. */
bool registry_remove(struct registry *r, const char *id, char userns[USERNS_NAME_MAX]);

const struct registry_entry *registry_find(const struct registry *r, const char *id);
/* How many recorded containers use this namespace / belong to this pod. */
size_t registry_users(const struct registry *r, const char *userns);
size_t registry_pod_users(const struct registry *r, const char *pod_id);

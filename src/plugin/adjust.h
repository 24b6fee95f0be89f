/* Adding entries to an NRI ContainerAdjustment. Everything is malloc'd so the
 * stub's protobuf-c free_unpacked (default allocator) releases it. On failure
 * (out of memory) the adjustment holds only complete entries. */
#pragma once
#include <stddef.h>

#include "plugin/stub.h"

/* Joins (or replaces) the container's namespace of this type by path. */
int adjust_add_namespace(nri_adjustment *adj, const char *type, const char *path);

/* Adds a mount; one with the same destination replaces the container's. */
int adjust_add_mount(nri_adjustment *adj, const char *destination, const char *type,
                     const char *source, const char *const *options, size_t noptions);

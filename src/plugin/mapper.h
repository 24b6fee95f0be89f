/* The plugin's NRI handlers: for each workload container, decide whether to
 * give it a pinned user namespace, plan its uid/gid maps, make sure the
 * namespace and the pod's sysfs/mqueue mounts exist, and answer with an
 * adjustment that joins the namespace and replaces /sys and /dev/mqueue.
 * Counts the containers using each namespace and releases what nobody uses,
 * also after a restart (from Synchronize).
 *
 * Usage: struct mapper *m = mapper_new(); struct nri_handlers h;
 *        mapper_handlers(m, &h); ... serve ...; mapper_free(m);
 * or, for a process that is the plugin (cmd_run): mapper_install(&h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "plugin/config.h"
#include "plugin/stub.h"

/* Annotations on the pod that opt it, or one of its containers, out. */
#define MAPPER_DISABLE_ANNOTATION "uid-mapper.nri.io/disable"
#define MAPPER_DISABLE_CONTAINER_PREFIX "uid-mapper.nri.io/disable.container."

struct mapper;

/* NULL when out of memory. The mapper does nothing before Configure. */
struct mapper *mapper_new(void);
/* Frees memory only: pinned namespaces and pod mounts stay for the
 * containers that use them (a restarted plugin adopts them). */
void mapper_free(struct mapper *m);
void mapper_handlers(struct mapper *m, struct nri_handlers *out);
/* Handlers backed by one mapper that lives as long as the process. */
void mapper_install(struct nri_handlers *out);

/* Why this container must run without a user namespace of its own, or
 * false if it gets one. Exposed for tests; the handler logs the reason. */
bool mapper_skip_reason(const struct mapper_config *cfg, const nri_pod *pod,
                        const nri_container *ctr, char *reason, size_t len);

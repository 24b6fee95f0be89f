/* Running a step inside another process's namespace without moving the
 * plugin itself: a forked child setns()es and runs the step; the plugin's
 * own namespaces never change, so a failure cannot strand it elsewhere.
 * The child shares the plugin's mount namespace (unless the step's
 * namespace is a mount namespace), so mounts it makes are the plugin's. */
#pragma once
#include <stddef.h>

/* The step run in the child: returns 0, or -1 with err filled. */
typedef int (*ns_step_fn)(void *arg, char *err, size_t errlen);

/* Forks, joins the namespace at ns_path (nstype: CLONE_NEWNET, ...) and runs
 * step in the child. Returns 0, or -1 with err saying which part failed. */
int ns_run_in(const char *ns_path, int nstype, ns_step_fn step, void *arg, char *err,
              size_t errlen);

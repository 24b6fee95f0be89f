#include "plugin/mapper.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "effects/fsutil.h"
#include "effects/podmounts.h"
#include "effects/userns.h"
#include "plugin/adjust.h"
#include "plugin/registry.h"
#include "policy/plan.h"

/* /proc/self/uid_map holds at most 340 lines of three numbers. */
#define SELF_MAP_MAX 16384

struct mapper {
    bool configured;
    struct mapper_config cfg;
    struct id_pool uid_pool, gid_pool; /* own map's IDs, narrowed by cfg.pool */
    struct registry reg;
    bool warned_no_user;
};

struct mapper *mapper_new(void) { return calloc(1, sizeof(struct mapper)); }

void mapper_free(struct mapper *m)
{
    if (!m)
        return;
    config_free(&m->cfg);
    registry_free(&m->reg);
    free(m);
}

/* A message for the runtime to show; a long one ends in "..." rather than
 * silently mid-word. */
__attribute__((format(printf, 2, 3))) static void set_error(struct nri_error *err,
                                                            const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(err->msg))
        memcpy(err->msg + sizeof(err->msg) - 4, "...", 4);
}

/* ---- who: one phrase naming a container in every log line ---- */

struct who {
    char s[256];
};

static struct who who_is(const nri_pod *pod, const nri_container *ctr)
{
    struct who w;
    snprintf(w.s, sizeof(w.s), "pod %s/%s container %s (%.12s)", pod->namespace_,
             pod->name, ctr->name, ctr->id);
    return w;
}

/* ---- skip rules ---- */

static const char *pod_annotation(const nri_pod *pod, const char *key)
{
    for (size_t i = 0; i < pod->n_annotations; i++)
        if (strcmp(pod->annotations[i]->key, key) == 0)
            return pod->annotations[i]->value;
    return NULL;
}

static const Nri__Pkg__Api__V1alpha1__LinuxNamespace *
find_namespace(const nri_container *ctr, const char *type)
{
    if (!ctr->linux)
        return NULL;
    for (size_t i = 0; i < ctr->linux->n_namespaces; i++)
        if (strcmp(ctr->linux->namespaces[i]->type, type) == 0)
            return ctr->linux->namespaces[i];
    return NULL;
}

/* Does the container share this namespace with the node? containerd leaves
 * the entry out (hostPID) or, for hostNetwork, gives the sandbox's namespace
 * path, which is then the node's own: compare it with the plugin's, which
 * runs in the node's namespaces. */
static bool uses_node_namespace(const nri_container *ctr, const char *type,
                                const char *proc_name)
{
    const Nri__Pkg__Api__V1alpha1__LinuxNamespace *ns = find_namespace(ctr, type);
    if (!ns)
        return true;
    char own[64];
    snprintf(own, sizeof(own), "/proc/self/ns/%s", proc_name);
    struct stat theirs, ours;
    return *ns->path && stat(ns->path, &theirs) == 0 && stat(own, &ours) == 0 &&
           theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino;
}

bool mapper_skip_reason(const struct mapper_config *cfg, const nri_pod *pod,
                        const nri_container *ctr, char *reason, size_t len)
{
    char key[512];
    snprintf(key, sizeof(key), "%s%s", MAPPER_DISABLE_CONTAINER_PREFIX, ctr->name);
    const char *pod_off = pod_annotation(pod, MAPPER_DISABLE_ANNOTATION);
    const char *ctr_off = pod_annotation(pod, key);

    if (pod_off && strcmp(pod_off, "true") == 0)
        snprintf(reason, len, "pod annotation %s is \"true\"", MAPPER_DISABLE_ANNOTATION);
    else if (ctr_off && strcmp(ctr_off, "true") == 0)
        snprintf(reason, len, "pod annotation %s is \"true\"", key);
    else if (config_skips_namespace(cfg, pod->namespace_))
        snprintf(reason, len, "namespace %s is in skip_namespaces", pod->namespace_);
    else if (find_namespace(ctr, "user"))
        snprintf(reason, len, "it already has a user namespace (hostUsers: false)");
    else if (uses_node_namespace(ctr, "network", "net"))
        snprintf(reason, len, "it uses the node's network namespace (hostNetwork: true)");
    else if (uses_node_namespace(ctr, "pid", "pid"))
        snprintf(reason, len, "it uses the node's PID namespace (hostPID: true)");
    else if (uses_node_namespace(ctr, "ipc", "ipc"))
        snprintf(reason, len, "it uses the node's IPC namespace (hostIPC: true)");
    else if (*find_namespace(ctr, "pid")->path) /* present: not hostPID */
        snprintf(reason, len, "it joins the pod's PID namespace (shareProcessNamespace: "
                              "true), which belongs to the node's user namespace, so "
                              "runc could not mount /proc for it");
    else
        return false;
    return true;
}

/* ---- Configure ---- */

static int load_pool(const char *file, const struct mapper_config *cfg,
                     struct id_pool *pool, char *err, size_t errlen)
{
    char *text = fs_read_text(file, SELF_MAP_MAX);
    if (!text) {
        snprintf(err, errlen, "reading %s: %s", file, strerror(errno));
        return -1;
    }
    char why[256];
    int rc = pool_from_map_text(text, pool, why, sizeof(why));
    free(text);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", file, why);
        return -1;
    }
    if (cfg->has_pool)
        pool_intersect(pool, &cfg->pool);
    if (pool->size == 0) {
        snprintf(err, errlen, "pool: no ID of the configured pool is in %s; "
                              "list IDs from its first column", file);
        return -1;
    }
    return 0;
}

/* Builds everything a configuration implies into a fresh mapper, so that a
 * bad configuration leaves the one in use untouched. */
static int prepare(struct mapper *next, const char *config, int *removed, char *why,
                   size_t len)
{
    struct mapper_config *cfg = &next->cfg;
    if (config_parse(config, cfg, why, len) < 0 ||
        load_pool("/proc/self/uid_map", cfg, &next->uid_pool, why, len) < 0 ||
        load_pool("/proc/self/gid_map", cfg, &next->gid_pool, why, len) < 0)
        return -1;
    if (fs_mkdir_p(cfg->state_dir, 0711) < 0) {
        snprintf(why, len, "state_dir %s: %s", cfg->state_dir, strerror(errno));
        return -1;
    }
    if ((*removed = userns_recover(cfg->state_dir)) < 0) {
        snprintf(why, len, "state_dir %s/userns: %s", cfg->state_dir, strerror(errno));
        return -1;
    }
    if (registry_load(&next->reg, cfg->state_dir, why, len) < 0)
        return -1;
    next->configured = true;
    return 0;
}

static int on_configure(void *ctx, const char *config, const char *runtime_name,
                        const char *runtime_version, struct nri_error *err)
{
    struct mapper *m = ctx;
    char why[sizeof(err->msg) - 16] = "out of memory";
    int removed = 0;
    struct mapper *next = mapper_new();
    if (!next || prepare(next, config, &removed, why, sizeof(why)) < 0) {
        mapper_free(next);
        set_error(err, "uid-mapper: %s", why);
        log_error("configuration rejected: %s", why);
        return -1;
    }
    next->warned_no_user = m->warned_no_user;
    config_free(&m->cfg);
    registry_free(&m->reg);
    *m = *next;
    free(next);

    if (m->cfg.has_log_level)
        log_set_level(m->cfg.log_level);
    if (removed > 0)
        log_warn("removed %d half-made pinned namespace entries under %s/userns "
                 "(the plugin stopped while creating them)", removed, m->cfg.state_dir);
    char uid_pool[128], gid_pool[128];
    if (pool_format(&m->uid_pool, uid_pool, sizeof(uid_pool)) < 0)
        snprintf(uid_pool, sizeof(uid_pool), "of %zu ranges", m->uid_pool.n);
    if (pool_format(&m->gid_pool, gid_pool, sizeof(gid_pool)) < 0)
        snprintf(gid_pool, sizeof(gid_pool), "of %zu ranges", m->gid_pool.n);
    log_info("configured for %s %s: uid pool %s (%llu IDs), gid pool %s (%llu IDs), "
             "state_dir %s, on_error %s, %zu containers on record",
             runtime_name, runtime_version, uid_pool,
             (unsigned long long)m->uid_pool.size, gid_pool,
             (unsigned long long)m->gid_pool.size, m->cfg.state_dir,
             on_error_name(m->cfg.on_error), m->reg.n);
    return 0;
}

/* ---- namespace bookkeeping ---- */

static void release_if_unused(struct mapper *m, const char *userns)
{
    if (registry_users(&m->reg, userns) > 0)
        return;
    char why[512];
    if (userns_release(m->cfg.state_dir, userns, why, sizeof(why)) < 0)
        log_warn("cannot release pinned namespace %s: %s", userns, why);
    else
        log_info("released pinned user namespace %s (no containers left)", userns);
}

/* A pod's sysfs and mqueue are released as soon as no recorded container
 * of the pod uses them (a later container mounts them again): StopPodSandbox
 * is not always delivered, e.g. for a pod stopped while the plugin was
 * down, and a sysfs mount keeps the pod's network namespace alive. */
static void release_pod_if_unused(struct mapper *m, const char *pod_id)
{
    if (registry_pod_users(&m->reg, pod_id) > 0)
        return;
    char why[512];
    if (podmounts_release(m->cfg.state_dir, pod_id, why, sizeof(why)) < 0)
        log_warn("cannot release the sysfs/mqueue mounts of pod %.12s: %s; the next "
                 "Synchronize retries", pod_id, why);
}

static void forget_container(struct mapper *m, const char *id)
{
    const struct registry_entry *e = registry_find(&m->reg, id);
    if (!e)
        return;
    char userns[USERNS_NAME_MAX], *pod_id = strdup(e->pod_id);
    registry_remove(&m->reg, id, userns);
    release_if_unused(m, userns);
    if (pod_id)
        release_pod_if_unused(m, pod_id);
    free(pod_id);
}

/* The name of our pinned namespace a container joins, or NULL. */
static const char *our_userns(const struct mapper *m, const nri_container *ctr)
{
    const Nri__Pkg__Api__V1alpha1__LinuxNamespace *ns = find_namespace(ctr, "user");
    size_t dlen = strlen(m->cfg.state_dir);
    if (!ns || strncmp(ns->path, m->cfg.state_dir, dlen) != 0 ||
        strncmp(ns->path + dlen, "/userns/", 8) != 0)
        return NULL;
    const char *name = ns->path + dlen + 8;
    return userns_name_valid(name) ? name : NULL;
}

/* ---- Synchronize ---- */

struct sync_view {
    struct mapper *m;
    nri_pod *const *pods;
    size_t npods;
    nri_container *const *ctrs;
    size_t nctrs;
};

static const nri_pod *sync_pod(const struct sync_view *v, const char *id)
{
    for (size_t i = 0; i < v->npods; i++)
        if (strcmp(v->pods[i]->id, id) == 0)
            return v->pods[i];
    return NULL;
}

static bool sync_has_container(const struct sync_view *v, const char *id)
{
    for (size_t i = 0; i < v->nctrs; i++)
        if (strcmp(v->ctrs[i]->id, id) == 0)
            return true;
    return false;
}

static int release_unused_userns(const char *name, void *arg)
{
    release_if_unused(((struct sync_view *)arg)->m, name);
    return 0;
}

static int release_unused_pod(const char *pod_id, void *arg)
{
    release_pod_if_unused(((struct sync_view *)arg)->m, pod_id);
    return 0;
}

static int on_synchronize(void *ctx, nri_pod *const *pods, size_t npods,
                          nri_container *const *ctrs, size_t nctrs, struct nri_error *err)
{
    struct mapper *m = ctx;
    struct sync_view v = {m, pods, npods, ctrs, nctrs};
    if (!m->configured) {
        set_error(err, "uid-mapper: Synchronize before Configure");
        return -1;
    }

    /* Records of containers that went away while the plugin was not there. */
    for (size_t i = 0; i < m->reg.n;) {
        if (sync_has_container(&v, m->reg.v[i].id)) {
            i++;
            continue;
        }
        log_info("container %.12s is gone; forgetting it", m->reg.v[i].id);
        forget_container(m, m->reg.v[i].id); /* moves the last entry to i */
    }

    /* Containers that joined one of our namespaces but have no record (the
     * record was lost): count them, or their namespace would be released
     * under them. */
    size_t adopted = 0;
    for (size_t i = 0; i < nctrs; i++) {
        const char *userns = our_userns(m, ctrs[i]);
        if (!userns || registry_find(&m->reg, ctrs[i]->id))
            continue;
        const nri_pod *pod = sync_pod(&v, ctrs[i]->pod_sandbox_id);
        char why[512];
        if (registry_add(&m->reg, ctrs[i]->id, userns, ctrs[i]->pod_sandbox_id,
                         pod ? pod->namespace_ : "", pod ? pod->name : "", ctrs[i]->name,
                         why, sizeof(why)) < 0)
            log_warn("cannot record container %.12s: %s", ctrs[i]->id, why);
        else
            adopted++;
    }

    userns_foreach(m->cfg.state_dir, release_unused_userns, &v);
    podmounts_foreach(m->cfg.state_dir, release_unused_pod, &v);
    log_info("synchronized: %zu pods, %zu containers, %zu of them in pinned user "
             "namespaces (%zu adopted)", npods, nctrs, m->reg.n, adopted);
    return 0;
}

/* ---- CreateContainer ---- */

struct placement {
    char userns[USERNS_NAME_MAX];
    bool created;
    char userns_path[PATH_MAX];
    char sys[PATH_MAX];     /* empty: leave /sys alone */
    bool sys_is_node;       /* fallback: the node's /sys */
    char mqueue[PATH_MAX];  /* empty: leave /dev/mqueue alone */
};

static int plan_one(const char *kind, const struct id_pool *pool, const uint32_t *req,
                    size_t nreq, const uint32_t *extra, size_t nextra,
                    struct id_mapping *out, char *why, size_t len)
{
    struct id_plan *plan = malloc(sizeof(*plan));
    enum plan_status st = plan ? plan_map(pool, req, nreq, extra, nextra, plan)
                               : PLAN_NO_MEMORY;
    if (st != PLAN_OK) {
        /* plan_strerror() carries the advice that fits the status. */
        snprintf(why, len, "cannot plan the %s map: %s (pool of %llu IDs, %zu required, "
                           "%zu extra)", kind, plan_strerror(st),
                 (unsigned long long)pool->size, nreq, nextra);
        free(plan);
        return -1;
    }
    for (size_t i = 0; i < plan->ncollisions; i++)
        log_debug("%s %u is unmapped in this container: its slot went to %u", kind,
                  plan->collisions[i].container_id, plan->collisions[i].displaced_by);
    *out = plan->map;
    id_plan_release(plan);
    free(plan);
    return 0;
}

static int plan_maps(struct mapper *m, const nri_container *ctr, struct id_mapping *uid,
                     struct id_mapping *gid, char *why, size_t len)
{
    uint32_t uid_req[1], *gid_req = NULL;
    size_t nuid = 0, ngid = 0;
    const Nri__Pkg__Api__V1alpha1__User *u = ctr->user;
    if (u) {
        uid_req[0] = u->uid;
        nuid = 1;
        if (!(gid_req = malloc((1 + u->n_additional_gids) * sizeof(*gid_req)))) {
            snprintf(why, len, "out of memory");
            return -1;
        }
        gid_req[0] = u->gid;
        memcpy(gid_req + 1, u->additional_gids, u->n_additional_gids * sizeof(*gid_req));
        ngid = 1 + u->n_additional_gids;
    } else if (!m->warned_no_user) {
        m->warned_no_user = true;
        log_warn("the runtime does not say which user containers run as (Container.user "
                 "needs containerd 2.3 / NRI 0.12): mapping only the pool and "
                 "extra_uids/extra_gids, so an image user outside the pool will fail "
                 "to start; upgrade containerd or list such IDs in extra_uids/extra_gids");
    }
    int rc = plan_one("uid", &m->uid_pool, uid_req, nuid, m->cfg.extra_uids,
                      m->cfg.nextra_uids, uid, why, len);
    if (rc == 0)
        rc = plan_one("gid", &m->gid_pool, gid_req, ngid, m->cfg.extra_gids,
                      m->cfg.nextra_gids, gid, why, len);
    free(gid_req);
    return rc;
}

static int place(struct mapper *m, const nri_pod *pod, const nri_container *ctr,
                 struct placement *pl, char *why, size_t len)
{
    struct id_mapping *maps = malloc(2 * sizeof(*maps));
    if (!maps) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    int rc = plan_maps(m, ctr, &maps[0], &maps[1], why, len);
    if (rc == 0) {
        char reason[512];
        rc = userns_ensure(m->cfg.state_dir, &maps[0], &maps[1], pl->userns, &pl->created,
                           reason, sizeof(reason));
        if (rc < 0)
            snprintf(why, len, "cannot pin a user namespace under %s/userns: %s",
                     m->cfg.state_dir, reason);
    }
    free(maps);
    if (rc < 0)
        return -1;
    userns_path(m->cfg.state_dir, pl->userns, pl->userns_path, sizeof(pl->userns_path));

    const Nri__Pkg__Api__V1alpha1__LinuxNamespace *net = find_namespace(ctr, "network");
    const Nri__Pkg__Api__V1alpha1__LinuxNamespace *ipc = find_namespace(ctr, "ipc");
    char reason[768];
    /* Both entries exist: mapper_skip_reason() passes only containers that
     * have their own network and IPC namespaces. One the container creates
     * itself (no path) is owned by its new user namespace, where runc can
     * mount sysfs/mqueue on its own. */
    if (*net->path && podmounts_ensure_sysfs(m->cfg.state_dir, pod->id, net->path, pl->sys,
                                             sizeof(pl->sys), reason, sizeof(reason)) < 0) {
        log_warn("%s: falling back to a read-only bind of the node's /sys, which shows "
                 "the node's network devices: %s", who_is(pod, ctr).s, reason);
        snprintf(pl->sys, sizeof(pl->sys), "/sys");
        pl->sys_is_node = true;
    }
    if (*ipc->path && podmounts_ensure_mqueue(m->cfg.state_dir, pod->id, ipc->path,
                                              pl->mqueue, sizeof(pl->mqueue), reason,
                                              sizeof(reason)) < 0) {
        snprintf(why, len, "%s (the node's own message queues are never shared)", reason);
        goto undo;
    }
    if (registry_add(&m->reg, ctr->id, pl->userns, pod->id, pod->namespace_, pod->name,
                     ctr->name, reason, sizeof(reason)) < 0) {
        snprintf(why, len, "%s", reason);
        goto undo;
    }
    return 0;

undo:
    release_if_unused(m, pl->userns);
    release_pod_if_unused(m, pod->id);
    return -1;
}

static int fill_adjustment(nri_adjustment *adj, const struct placement *pl)
{
    /* The fresh sysfs has no submounts; the node's /sys has many, so the
     * fallback needs the recursive read-only flag. */
    static const char *const sys_opts[] = {"rbind", "ro", "nosuid", "nodev", "noexec"};
    static const char *const node_sys_opts[] = {"rbind", "rro", "nosuid", "nodev", "noexec"};
    static const char *const mqueue_opts[] = {"rbind", "nosuid", "nodev", "noexec"};
    if (adjust_add_namespace(adj, "user", pl->userns_path) < 0)
        return -1;
    if (*pl->sys && adjust_add_mount(adj, "/sys", "bind", pl->sys,
                                     pl->sys_is_node ? node_sys_opts : sys_opts, 5) < 0)
        return -1;
    if (*pl->mqueue && adjust_add_mount(adj, "/dev/mqueue", "bind", pl->mqueue,
                                        mqueue_opts, 4) < 0)
        return -1;
    return 0;
}

/* The adjustment is only filled once everything succeeded, so a failure
 * handled as on_error: skip leaves it empty. */
static int fail_container(struct mapper *m, const struct who *w, const char *why,
                          struct nri_error *err)
{
    if (m->cfg.on_error == ON_ERROR_SKIP) {
        log_warn("UNISOLATED: %s runs in the node's user namespace (root in it is root "
                 "of the node) because %s; on_error is skip", w->s, why);
        return 0;
    }
    set_error(err, "uid-mapper: cannot give %s a user namespace: %s; set on_error: skip "
                   "in the uid-mapper configuration to run such containers unisolated",
              w->s, why);
    log_error("%s", err->msg);
    return -1;
}

static int on_create_container(void *ctx, const nri_pod *pod, const nri_container *ctr,
                               nri_adjustment *adj, struct nri_error *err)
{
    struct mapper *m = ctx;
    struct who w = who_is(pod, ctr);
    if (!m->configured) {
        set_error(err, "uid-mapper: CreateContainer before Configure");
        return -1;
    }
    char why[1024];
    if (mapper_skip_reason(&m->cfg, pod, ctr, why, sizeof(why))) {
        log_info("%s: no user namespace: %s", w.s, why);
        return 0;
    }

    struct placement *pl = calloc(1, sizeof(*pl));
    if (!pl)
        return fail_container(m, &w, "out of memory", err);
    int rc;
    if (place(m, pod, ctr, pl, why, sizeof(why)) < 0) {
        rc = fail_container(m, &w, why, err);
    } else if (fill_adjustment(adj, pl) < 0) {
        forget_container(m, ctr->id);
        rc = fail_container(m, &w, "out of memory building the adjustment", err);
    } else {
        log_info("%s: user namespace %s (%s, %zu containers)%s", w.s, pl->userns,
                 pl->created ? "new" : "shared", registry_users(&m->reg, pl->userns),
                 pl->sys_is_node ? ", node /sys fallback" : "");
        rc = 0;
    }
    free(pl);
    return rc;
}

/* ---- removal ---- */

static void on_remove_container(void *ctx, const nri_pod *pod, const nri_container *ctr)
{
    (void)pod;
    forget_container(ctx, ctr->id);
}

static void on_remove_pod(void *ctx, const nri_pod *pod)
{
    struct mapper *m = ctx;
    char why[512];
    if (!m->configured)
        return;
    if (podmounts_release(m->cfg.state_dir, pod->id, why, sizeof(why)) < 0)
        log_warn("pod %s/%s: cannot release its sysfs/mqueue mounts: %s; the next "
                 "Synchronize retries", pod->namespace_, pod->name, why);
}

static void on_disconnected(void *ctx)
{
    (void)ctx;
    log_info("runtime gone; pinned namespaces stay for running containers until the "
             "next Synchronize");
}

void mapper_handlers(struct mapper *m, struct nri_handlers *out)
{
    *out = (struct nri_handlers){
        .ctx = m,
        .configure = on_configure,
        .synchronize = on_synchronize,
        .create_container = on_create_container,
        .remove_container = on_remove_container,
        .remove_pod = on_remove_pod,
        .disconnected = on_disconnected,
    };
}

void mapper_install(struct nri_handlers *out)
{
    static struct mapper process_mapper;
    mapper_handlers(&process_mapper, out);
}

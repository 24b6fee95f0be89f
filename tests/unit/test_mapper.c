/* The NRI handlers, driven with hand-built protobuf-c pods and containers:
 * skip rules, adjustment contents, sharing, release, restart recovery,
 * on_error. Everything after the skip rules needs root (real namespaces). */
#include <dirent.h>

#include "effects/userns.h"
#include "ns_fixture.h"
#include "plugin/mapper.h"
#include "plugin/registry.h"
#include "policy/plan.h"
#include "unit.h"

typedef Nri__Pkg__Api__V1alpha1__LinuxNamespace nri_ns;
typedef Nri__Pkg__Api__V1alpha1__PodSandbox__AnnotationsEntry nri_annotation;

/* One pod with one container, as containerd's CRI builds them. */
struct fake {
    nri_pod pod;
    nri_annotation ann[2], *annp[2];
    nri_container ctr;
    Nri__Pkg__Api__V1alpha1__LinuxContainer linux;
    nri_ns ns[6], *nsp[7]; /* room for a joined user namespace */
    Nri__Pkg__Api__V1alpha1__User user;
    uint32_t gids[3];
};

static void fake_init(struct fake *f, const char *pod_id, const char *ctr_id,
                      const char *net_path, const char *ipc_path, uint32_t uid, uint32_t gid)
{
    memset(f, 0, sizeof(*f));
    nri__pkg__api__v1alpha1__pod_sandbox__init(&f->pod);
    f->pod.id = (char *)pod_id;
    f->pod.name = "web";
    f->pod.namespace_ = "default";
    f->pod.annotations = f->annp;
    nri__pkg__api__v1alpha1__container__init(&f->ctr);
    f->ctr.id = (char *)ctr_id;
    f->ctr.pod_sandbox_id = (char *)pod_id;
    f->ctr.name = "app";
    nri__pkg__api__v1alpha1__linux_container__init(&f->linux);
    f->ctr.linux = &f->linux;
    static const char *const types[] = {"pid", "ipc", "uts", "mount", "network", "cgroup"};
    for (int i = 0; i < 6; i++) {
        nri__pkg__api__v1alpha1__linux_namespace__init(&f->ns[i]);
        f->ns[i].type = (char *)types[i];
        f->nsp[i] = &f->ns[i];
    }
    f->ns[1].path = (char *)ipc_path;
    f->ns[2].path = "/proc/1/ns/uts";
    f->ns[4].path = (char *)net_path;
    f->linux.namespaces = f->nsp;
    f->linux.n_namespaces = 6;
    nri__pkg__api__v1alpha1__user__init(&f->user);
    f->user.uid = uid;
    f->user.gid = gid;
    f->user.additional_gids = f->gids;
    f->ctr.user = &f->user;
}

static void annotate(struct fake *f, const char *key, const char *value)
{
    nri_annotation *a = &f->ann[f->pod.n_annotations];
    nri__pkg__api__v1alpha1__pod_sandbox__annotations_entry__init(a);
    a->key = (char *)key;
    a->value = (char *)value;
    f->annp[f->pod.n_annotations++] = a;
}

static void drop_namespace(struct fake *f, const char *type)
{
    for (size_t i = 0; i < f->linux.n_namespaces; i++)
        if (strcmp(f->nsp[i]->type, type) == 0)
            f->nsp[i] = f->nsp[--f->linux.n_namespaces];
}

/* ---- skip rules (no privileges needed) ---- */

TEST(skip_rules)
{
    struct mapper_config cfg;
    char err[256], why[512];
    CHECK(config_parse("skip_namespaces: [kube-system]\n", &cfg, err, sizeof(err)) == 0);
    struct fake f;
    fake_init(&f, "p", "c", "/var/run/netns/cni-1", "/proc/4194399/ns/ipc", 0, 0);
    CHECK(!mapper_skip_reason(&cfg, &f.pod, &f.ctr, why, sizeof(why)));

    /* Each case changes one thing of a mappable container. PID 4194399 is
     * above the kernel's pid_max, so its paths stand for a pod's namespaces
     * without existing on the test machine. */
    const struct {
        const char *drop, *ann_key, *ann_value, *pod_ns, *pid_path, *net_path, *ipc_path;
        bool add_user;
        const char *says; /* NULL: not skipped */
    } cases[] = {
        {.drop = "network", .says = "node's network namespace (hostNetwork"},
        {.net_path = "/proc/self/ns/net", .says = "node's network namespace (hostNetwork"},
        {.drop = "pid", .says = "node's PID namespace"},
        {.pid_path = "/proc/self/ns/pid", .says = "node's PID namespace"},
        {.drop = "ipc", .says = "node's IPC namespace"},
        {.ipc_path = "/proc/self/ns/ipc", .says = "node's IPC namespace"},
        {.pid_path = "/proc/4194399/ns/pid", .says = "shareProcessNamespace"},
        {.add_user = true, .says = "already has a user namespace (hostUsers: false)"},
        {.ann_key = "uid-mapper.nri.io/disable", .ann_value = "true",
         .says = "pod annotation uid-mapper.nri.io/disable is \"true\""},
        {.ann_key = "uid-mapper.nri.io/disable", .ann_value = "false"},
        {.ann_key = "uid-mapper.nri.io/disable.container.app", .ann_value = "true",
         .says = "uid-mapper.nri.io/disable.container.app"},
        {.ann_key = "uid-mapper.nri.io/disable.container.sidecar", .ann_value = "true"},
        {.pod_ns = "kube-system", .says = "namespace kube-system is in skip_namespaces"},
        {.pod_ns = "kube-public"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fake_init(&f, "p", "c", "/var/run/netns/cni-1", "/proc/4194399/ns/ipc", 0, 0);
        if (cases[i].drop)
            drop_namespace(&f, cases[i].drop);
        if (cases[i].ann_key)
            annotate(&f, cases[i].ann_key, cases[i].ann_value);
        if (cases[i].pod_ns)
            f.pod.namespace_ = (char *)cases[i].pod_ns;
        if (cases[i].pid_path)
            f.ns[0].path = (char *)cases[i].pid_path;
        if (cases[i].ipc_path)
            f.ns[1].path = (char *)cases[i].ipc_path;
        if (cases[i].net_path)
            f.ns[4].path = (char *)cases[i].net_path;
        if (cases[i].add_user)
            f.ns[5].type = "user";
        why[0] = '\0';
        bool skipped = mapper_skip_reason(&cfg, &f.pod, &f.ctr, why, sizeof(why));
        bool ok = cases[i].says ? skipped && strstr(why, cases[i].says) : !skipped;
        if (!ok)
            fprintf(stderr, "  case %zu: skipped %d, reason \"%s\"\n", i, skipped, why);
        CHECK(ok);
    }
    config_free(&cfg);
}

/* ---- the container records (no privileges needed) ---- */

TEST(registry_records_survive_a_restart)
{
    char dir[64], err[512], path[128];
    CHECK(make_temp_dir(dir) != NULL);
    struct registry r;
    CHECK(registry_load(&r, dir, err, sizeof(err)) == 0); /* no containers/ yet */
    CHECK_EQ_U(r.n, 0);
    CHECK(registry_add(&r, "c1", "0123456789abcdef", "pod1", "shop", "cart-0", "app", err,
                       sizeof(err)) == 0);
    CHECK(registry_add(&r, "c2", "0123456789abcdef", "pod1", "shop", "cart-0", "pro\nxy", err,
                       sizeof(err)) == 0);
    CHECK(registry_add(&r, "c3", "fedcba9876543210", "pod2", "shop", "cart-1", "app", err,
                       sizeof(err)) == 0);
    CHECK(registry_add(&r, "../c4", "fedcba9876543210", "pod2", "shop", "cart-1", "app", err,
                       sizeof(err)) == -1);
    CHECK(strstr(err, "cannot name a file") != NULL);
    registry_free(&r);

    /* A record that is not one (hand-edited, truncated) is skipped. */
    snprintf(path, sizeof(path), "%s/containers/junk", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("userns ../../etc\n", f);
        fclose(f);
    }
    CHECK(registry_load(&r, dir, err, sizeof(err)) == 0);
    CHECK_EQ_U(r.n, 3);
    CHECK_EQ_U(registry_users(&r, "0123456789abcdef"), 2);
    CHECK_EQ_U(registry_pod_users(&r, "pod2"), 1);
    const struct registry_entry *e = registry_find(&r, "c2");
    CHECK(e != NULL);
    if (e)
        CHECK_STR(e->name, "pro?xy"); /* a control character cannot break the file */
    char userns[USERNS_NAME_MAX];
    CHECK(registry_remove(&r, "c3", userns));
    CHECK_STR(userns, "fedcba9876543210");
    CHECK(!registry_remove(&r, "c3", userns));
    CHECK_EQ_U(registry_pod_users(&r, "pod2"), 0);
    registry_free(&r);
    CHECK(registry_load(&r, dir, err, sizeof(err)) == 0);
    CHECK_EQ_U(r.n, 2);
    CHECK(registry_remove(&r, "c1", userns) && registry_remove(&r, "c2", userns));
    registry_free(&r);

    unlink(path);
    snprintf(path, sizeof(path), "%s/containers", dir);
    CHECK(rmdir(path) == 0 && rmdir(dir) == 0);
}

/* ---- handlers against the kernel ---- */

static char state[64];
static struct ns_holder pod_ns;

struct plugin {
    struct mapper *m;
    struct nri_handlers h;
    struct nri_error err;
};

static int plugin_start(struct plugin *p, const char *extra_yaml)
{
    char yaml[512];
    snprintf(yaml, sizeof(yaml), "state_dir: %s\npool: \"0-2047\"\nlog_level: warn\n%s",
             state, extra_yaml);
    p->m = mapper_new();
    mapper_handlers(p->m, &p->h);
    p->err.msg[0] = '\0';
    return p->h.configure(p->h.ctx, yaml, "test", "0", &p->err);
}

static void plugin_stop(struct plugin *p) { mapper_free(p->m); }

static nri_adjustment *new_adjustment(void)
{
    nri_adjustment *adj = malloc(sizeof(*adj));
    nri__pkg__api__v1alpha1__container_adjustment__init(adj);
    return adj;
}

/* What the stub does with an adjustment after sending it. */
static void free_adjustment(nri_adjustment *adj)
{
    nri__pkg__api__v1alpha1__container_adjustment__free_unpacked(adj, NULL);
}

static int create(struct plugin *p, struct fake *f, nri_adjustment **adj)
{
    *adj = new_adjustment();
    p->err.msg[0] = '\0';
    return p->h.create_container(p->h.ctx, &f->pod, &f->ctr, *adj, &p->err);
}

static size_t count_entries(const char *sub)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/%s", state, sub);
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.' && !strstr(de->d_name, ".map");
    if (d)
        closedir(d);
    return n;
}

static const char *userns_of(const nri_adjustment *adj)
{
    if (!adj->linux || adj->linux->n_namespaces != 1 ||
        strcmp(adj->linux->namespaces[0]->type, "user") != 0)
        return NULL;
    return adj->linux->namespaces[0]->path;
}

static const Nri__Pkg__Api__V1alpha1__Mount *mount_of(const nri_adjustment *adj,
                                                      const char *dest)
{
    for (size_t i = 0; i < adj->n_mounts; i++)
        if (strcmp(adj->mounts[i]->destination, dest) == 0)
            return adj->mounts[i];
    return NULL;
}

static void check_map_inside(const char *path, const char *file, uint32_t required)
{
    struct id_pool pool;
    char why[256], text[8192];
    CHECK(pool_parse_ranges("0-2047", &pool, why, sizeof(why)) == 0);
    struct id_plan plan;
    CHECK(plan_map(&pool, &required, 1, NULL, 0, &plan) == PLAN_OK);
    struct id_mapping got;
    CHECK(ns_read_file(path, CLONE_NEWUSER, file, text, sizeof(text)) == 0);
    CHECK(idmap_parse(text, &got, why, sizeof(why)) == 0);
    CHECK_EQ_U(got.n, plan.map.n);
    CHECK(memcmp(got.e, plan.map.e, got.n * sizeof(got.e[0])) == 0);
    id_plan_release(&plan);
}

TEST(adjustment_sharing_and_release)
{
    struct plugin p;
    CHECK(plugin_start(&p, "") == 0);
    struct fake a, b, c;
    fake_init(&a, "pod1", "ctr-a", pod_ns.net, pod_ns.ipc, 65532, 65532);
    fake_init(&b, "pod1", "ctr-b", pod_ns.net, pod_ns.ipc, 65532, 65532);
    fake_init(&c, "pod1", "ctr-c", pod_ns.net, pod_ns.ipc, 1000, 1000);
    nri_adjustment *adj_a, *adj_b, *adj_c;
    CHECK(create(&p, &a, &adj_a) == 0);
    CHECK(create(&p, &b, &adj_b) == 0);
    CHECK(create(&p, &c, &adj_c) == 0);

    const char *ns_a = userns_of(adj_a), *ns_b = userns_of(adj_b), *ns_c = userns_of(adj_c);
    CHECK(ns_a && ns_b && ns_c);
    if (ns_a && ns_b && ns_c) {
        char prefix[128];
        snprintf(prefix, sizeof(prefix), "%s/userns/", state);
        CHECK(strncmp(ns_a, prefix, strlen(prefix)) == 0);
        CHECK_STR(ns_a, ns_b);
        CHECK(strcmp(ns_a, ns_c) != 0);
        check_map_inside(ns_a, "/proc/self/uid_map", 65532);
        check_map_inside(ns_a, "/proc/self/gid_map", 65532);
        check_map_inside(ns_c, "/proc/self/uid_map", 1000);
    }
    CHECK_EQ_U(count_entries("userns"), 2);

    const Nri__Pkg__Api__V1alpha1__Mount *sys = mount_of(adj_a, "/sys");
    const Nri__Pkg__Api__V1alpha1__Mount *mq = mount_of(adj_a, "/dev/mqueue");
    CHECK_EQ_U(adj_a->n_mounts, 2);
    CHECK(sys && mq);
    if (sys && mq) {
        char want[128];
        snprintf(want, sizeof(want), "%s/pods/pod1/sys", state);
        CHECK_STR(sys->source, want);
        CHECK_STR(sys->type, "bind");
        CHECK_EQ_U(sys->n_options, 5);
        CHECK_STR(sys->options[0], "rbind");
        CHECK_STR(sys->options[1], "ro");
        snprintf(want, sizeof(want), "%s/pods/pod1/mqueue", state);
        CHECK_STR(mq->source, want);
        CHECK_EQ_U(mq->n_options, 4);
    }

    /* Release when the last user goes, not before. */
    char path_a[256];
    snprintf(path_a, sizeof(path_a), "%s", ns_a ? ns_a : "");
    p.h.remove_container(p.h.ctx, &a.pod, &a.ctr);
    CHECK(access(path_a, F_OK) == 0);
    p.h.remove_container(p.h.ctx, &b.pod, &b.ctr);
    CHECK(access(path_a, F_OK) != 0);
    CHECK_EQ_U(count_entries("userns"), 1);
    CHECK_EQ_U(count_entries("pods"), 1);
    p.h.remove_container(p.h.ctx, &c.pod, &c.ctr);
    CHECK_EQ_U(count_entries("userns"), 0);
    CHECK_EQ_U(count_entries("containers"), 0);
    /* The pod's mounts go with its last mapped container... */
    CHECK_EQ_U(count_entries("pods"), 0);
    /* ...come back for a new one, and go with the pod. */
    nri_adjustment *adj_d;
    CHECK(create(&p, &a, &adj_d) == 0);
    CHECK_EQ_U(count_entries("pods"), 1);
    p.h.remove_pod(p.h.ctx, &a.pod);
    CHECK_EQ_U(count_entries("pods"), 0);
    p.h.remove_container(p.h.ctx, &a.pod, &a.ctr);
    CHECK_EQ_U(count_entries("userns"), 0);
    free_adjustment(adj_d);

    free_adjustment(adj_a);
    free_adjustment(adj_b);
    free_adjustment(adj_c);
    plugin_stop(&p);
}

TEST(restart_recovery_from_synchronize)
{
    struct plugin p;
    CHECK(plugin_start(&p, "") == 0);
    struct fake a, b;
    fake_init(&a, "pod1", "ctr-a", pod_ns.net, pod_ns.ipc, 65532, 65532);
    fake_init(&b, "pod2", "ctr-b", pod_ns.net, pod_ns.ipc, 1000, 1000);
    nri_adjustment *adj_a, *adj_b;
    CHECK(create(&p, &a, &adj_a) == 0);
    CHECK(create(&p, &b, &adj_b) == 0);
    plugin_stop(&p); /* the plugin dies; its namespaces stay */
    CHECK_EQ_U(count_entries("userns"), 2);

    /* As containerd reports it after the restart: ctr-a runs in its pinned
     * namespace (the adjustment went into its spec); ctr-b and pod2 are gone. */
    nri_ns user_ns = NRI__PKG__API__V1ALPHA1__LINUX_NAMESPACE__INIT;
    user_ns.type = "user";
    user_ns.path = (char *)userns_of(adj_a);
    a.nsp[a.linux.n_namespaces++] = &user_ns;
    nri_pod *pods[] = {&a.pod};
    nri_container *ctrs[] = {&a.ctr};

    /* Lose ctr-a's record too: Synchronize alone must rebuild the count. */
    char record[128];
    snprintf(record, sizeof(record), "%s/containers/ctr-a", state);
    CHECK(unlink(record) == 0);

    CHECK(plugin_start(&p, "") == 0);
    CHECK(p.h.synchronize(p.h.ctx, pods, 1, ctrs, 1, &p.err) == 0);
    CHECK_EQ_U(count_entries("userns"), 1);
    CHECK(access(user_ns.path, F_OK) == 0);
    CHECK(access(record, F_OK) == 0); /* adopted */
    CHECK_EQ_U(count_entries("pods"), 1); /* pod2's mounts released */

    /* Everything gone while the plugin was away. */
    CHECK(p.h.synchronize(p.h.ctx, NULL, 0, NULL, 0, &p.err) == 0);
    CHECK_EQ_U(count_entries("userns"), 0);
    CHECK_EQ_U(count_entries("containers"), 0);
    CHECK_EQ_U(count_entries("pods"), 0);
    plugin_stop(&p);
    free_adjustment(adj_a);
    free_adjustment(adj_b);
}

TEST(on_error_fail_and_skip)
{
    struct plugin p;
    struct fake f;
    nri_adjustment *adj;
    fake_init(&f, "pod1", "ctr-a", pod_ns.net, "/nonexistent/ipc", 65532, 65532);

    CHECK(plugin_start(&p, "") == 0);
    CHECK(create(&p, &f, &adj) != 0);
    CHECK(strstr(p.err.msg, "cannot give pod default/web container app") != NULL);
    CHECK(strstr(p.err.msg, "open /nonexistent/ipc") != NULL);
    CHECK(strstr(p.err.msg, "set on_error: skip") != NULL);
    CHECK(adj->n_mounts == 0 && adj->linux == NULL);
    CHECK_EQ_U(count_entries("userns"), 0); /* nothing half-made left */
    CHECK_EQ_U(count_entries("pods"), 0);   /* nor the sysfs it had mounted */
    free_adjustment(adj);
    plugin_stop(&p);

    CHECK(plugin_start(&p, "on_error: skip\n") == 0);
    CHECK(create(&p, &f, &adj) == 0);
    CHECK(adj->n_mounts == 0 && adj->linux == NULL);
    CHECK_EQ_U(count_entries("userns"), 0);
    free_adjustment(adj);
    p.h.remove_pod(p.h.ctx, &f.pod);
    CHECK_EQ_U(count_entries("pods"), 0);
    plugin_stop(&p);
}

TEST(skipped_container_gets_empty_adjustment)
{
    struct plugin p;
    CHECK(plugin_start(&p, "") == 0);
    struct fake f;
    nri_adjustment *adj;
    fake_init(&f, "pod1", "ctr-a", pod_ns.net, pod_ns.ipc, 0, 0);
    drop_namespace(&f, "network");
    CHECK(create(&p, &f, &adj) == 0);
    CHECK(adj->n_mounts == 0 && adj->linux == NULL);
    CHECK_EQ_U(count_entries("userns"), 0);
    free_adjustment(adj);
    plugin_stop(&p);
}

TEST(own_namespaces_keep_their_mounts_and_user_may_be_absent)
{
    struct plugin p;
    CHECK(plugin_start(&p, "extra_uids: [65534]\n") == 0);
    struct fake f;
    nri_adjustment *adj;
    /* No paths: the container makes its own network and IPC namespaces,
     * owned by its user namespace, where runc mounts sysfs/mqueue itself. */
    fake_init(&f, "pod1", "ctr-a", "", "", 0, 0);
    f.ctr.user = NULL; /* containerd 2.2 */
    CHECK(create(&p, &f, &adj) == 0);
    CHECK_EQ_U(adj->n_mounts, 0);
    const char *ns = userns_of(adj);
    CHECK(ns != NULL);
    char text[8192];
    if (ns) {
        CHECK(ns_read_file(ns, CLONE_NEWUSER, "/proc/self/uid_map", text, sizeof(text)) == 0);
        /* The pool with 65534 squeezed in: 65534 % 2048 = 2046 is displaced. */
        CHECK(strstr(text, "65534") != NULL);
    }
    p.h.remove_container(p.h.ctx, &f.pod, &f.ctr);
    CHECK_EQ_U(count_entries("userns"), 0);
    free_adjustment(adj);
    plugin_stop(&p);
}

TEST(many_creates_few_namespaces)
{
    struct plugin p;
    CHECK(plugin_start(&p, "") == 0);
    static struct fake f[200];
    static char ids[200][16];
    for (int i = 0; i < 200; i++) {
        snprintf(ids[i], sizeof(ids[i]), "ctr-%d", i);
        fake_init(&f[i], "pod1", ids[i], pod_ns.net, pod_ns.ipc, 60000u + (uint32_t)(i % 20),
                  60000u + (uint32_t)(i % 20));
        nri_adjustment *adj;
        CHECK(create(&p, &f[i], &adj) == 0);
        free_adjustment(adj);
    }
    CHECK_EQ_U(count_entries("userns"), 20);
    CHECK_EQ_U(count_entries("containers"), 200);
    for (int i = 0; i < 200; i++)
        p.h.remove_container(p.h.ctx, &f[i].pod, &f[i].ctr);
    CHECK_EQ_U(count_entries("userns"), 0);
    p.h.remove_pod(p.h.ctx, &f[0].pod);
    plugin_stop(&p);
}

TEST(bad_configuration_fails_configure)
{
    struct plugin p;
    CHECK(plugin_start(&p, "on_error: maybe\n") != 0);
    CHECK(strstr(p.err.msg, "uid-mapper: config: on_error: \"maybe\"") != NULL);
    /* A handler called anyway refuses rather than acting on defaults. */
    struct fake f;
    nri_adjustment *adj;
    fake_init(&f, "pod1", "ctr-a", pod_ns.net, pod_ns.ipc, 0, 0);
    CHECK(create(&p, &f, &adj) != 0);
    free_adjustment(adj);
    plugin_stop(&p);
}

int main(void)
{
    RUN(skip_rules);
    RUN(registry_records_survive_a_restart);
    const char *why = ns_capable_here() ? NULL : "needs root and namespaces";
    if (!why && (!make_temp_dir(state) ||
                 ns_holder_start(&pod_ns, CLONE_NEWNET | CLONE_NEWIPC) < 0)) {
        perror("fixture");
        return 1;
    }
    RUN_UNLESS(why, adjustment_sharing_and_release);
    RUN_UNLESS(why, restart_recovery_from_synchronize);
    RUN_UNLESS(why, on_error_fail_and_skip);
    RUN_UNLESS(why, skipped_container_gets_empty_adjustment);
    RUN_UNLESS(why, own_namespaces_keep_their_mounts_and_user_may_be_absent);
    RUN_UNLESS(why, many_creates_few_namespaces);
    RUN_UNLESS(why, bad_configuration_fails_configure);
    if (why)
        return unit_done();
    ns_holder_stop(&pod_ns);
    if (remove_state_dir(__FILE__, state,
                         (const char *const[]){"userns", "containers", "pods", NULL}) != 0)
        return 1;
    return unit_done();
}

/* Pinned user namespaces against the real kernel (root): create, read the
 * maps back from inside, reuse, hash clash, release, crash recovery. */
#include <dirent.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "effects/userns.h"
#include "ns_fixture.h"
#include "unit.h"

static char state[64];
static char err[1024];

/* The design notes' example: pool 0-2047, user 65532. */
static const struct id_mapping map_65532 = {
    3, {{0, 0, 2044}, {2045, 2045, 3}, {65532, 2044, 1}}};
static const struct id_mapping map_1000 = {1, {{0, 0, 2048}}};

static void path_of(const char *name, char *buf, size_t len)
{
    CHECK(userns_path(state, name, buf, len) == 0);
}

static bool is_nsfs(const char *path)
{
    struct statfs sfs;
    return statfs(path, &sfs) == 0 && sfs.f_type == NSFS_MAGIC;
}

static size_t entries(void)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/userns", state);
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* The maps as a process inside the namespace sees them. */
static void check_maps_inside(const char *name, const struct id_mapping *uid,
                              const struct id_mapping *gid)
{
    char path[256], text[8192], why[256];
    path_of(name, path, sizeof(path));
    struct id_mapping got;
    CHECK(ns_read_file(path, CLONE_NEWUSER, "/proc/self/uid_map", text, sizeof(text)) == 0);
    CHECK(idmap_parse(text, &got, why, sizeof(why)) == 0);
    CHECK(memcmp(&got, uid, sizeof(got.n) + uid->n * sizeof(got.e[0])) == 0);
    CHECK(ns_read_file(path, CLONE_NEWUSER, "/proc/self/gid_map", text, sizeof(text)) == 0);
    CHECK(idmap_parse(text, &got, why, sizeof(why)) == 0);
    CHECK(memcmp(&got, gid, sizeof(got.n) + gid->n * sizeof(got.e[0])) == 0);
    /* Containers call setgroups(); the plugin must not have denied it. */
    CHECK(ns_read_file(path, CLONE_NEWUSER, "/proc/self/setgroups", text, sizeof(text)) == 0);
    CHECK_STR(text, "allow\n");
}

TEST(create_read_back_reuse_release)
{
    char a[USERNS_NAME_MAX], a2[USERNS_NAME_MAX], b[USERNS_NAME_MAX], path[256];
    bool created = false;
    CHECK(userns_ensure(state, &map_65532, &map_65532, a, &created, err, sizeof(err)) == 0);
    CHECK(created);
    CHECK(userns_name_valid(a));
    path_of(a, path, sizeof(path));
    CHECK(is_nsfs(path));
    check_maps_inside(a, &map_65532, &map_65532);

    struct id_mapping uid, gid;
    CHECK(userns_read_maps(state, a, &uid, &gid, err, sizeof(err)) == 0);
    CHECK_EQ_U(uid.n, 3);
    CHECK_EQ_U(uid.e[2].container_id, 65532);

    CHECK(userns_ensure(state, &map_65532, &map_65532, a2, &created, err, sizeof(err)) == 0);
    CHECK(!created);
    CHECK_STR(a2, a);

    CHECK(userns_ensure(state, &map_1000, &map_65532, b, &created, err, sizeof(err)) == 0);
    CHECK(created);
    CHECK(strcmp(a, b) != 0);
    check_maps_inside(b, &map_1000, &map_65532);
    CHECK_EQ_U(entries(), 4);

    CHECK(userns_release(state, a, err, sizeof(err)) == 0);
    CHECK(access(path, F_OK) != 0);
    CHECK(userns_release(state, b, err, sizeof(err)) == 0);
    CHECK_EQ_U(entries(), 0);
}

static int count_cb(const char *name, void *arg)
{
    (void)name;
    (*(int *)arg)++;
    return 0;
}

TEST(half_made_entries_are_recovered)
{
    char good[USERNS_NAME_MAX], path[256];
    bool created;
    CHECK(userns_ensure(state, &map_1000, &map_1000, good, &created, err, sizeof(err)) == 0);

    /* A crash after creating the file, before the bind mount. */
    snprintf(path, sizeof(path), "%s/userns/0123456789abcdef", state);
    close(open(path, O_CREAT | O_WRONLY, 0400));
    /* A crash after the bind mount, before the record. */
    char holder_ns[64];
    struct ns_holder h;
    CHECK(ns_holder_start(&h, CLONE_NEWUSER) == 0);
    snprintf(holder_ns, sizeof(holder_ns), "/proc/%d/ns/user", (int)h.pid);
    snprintf(path, sizeof(path), "%s/userns/fedcba9876543210", state);
    close(open(path, O_CREAT | O_WRONLY, 0400));
    CHECK(mount(holder_ns, path, NULL, MS_BIND, NULL) == 0);
    ns_holder_stop(&h);
    /* A crash while writing a record, and a record whose namespace is gone
     * (a reboot with a persistent state_dir). */
    snprintf(path, sizeof(path), "%s/userns/fedcba9876543210.map.tmp", state);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    snprintf(path, sizeof(path), "%s/userns/aaaaaaaaaaaaaaaa.map", state);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    /* Not ours: left alone. */
    snprintf(path, sizeof(path), "%s/userns/README", state);
    close(open(path, O_CREAT | O_WRONLY, 0600));

    CHECK_EQ_U(userns_recover(state), 4);
    CHECK_EQ_U(entries(), 3); /* good, good.map, README */
    int n = 0;
    CHECK(userns_foreach(state, count_cb, &n) == 0);
    CHECK_EQ_U(n, 1);
    CHECK_EQ_U(userns_recover(state), 0);
    unlink(path);
    CHECK(userns_release(state, good, err, sizeof(err)) == 0);
    CHECK_EQ_U(entries(), 0);
}

TEST(ensure_replaces_a_half_made_namespace)
{
    char name[USERNS_NAME_MAX], again[USERNS_NAME_MAX], path[256], record[300];
    bool created;
    CHECK(userns_ensure(state, &map_1000, &map_1000, name, &created, err, sizeof(err)) == 0);
    snprintf(record, sizeof(record), "%s/userns/%s.map", state, name);
    CHECK(unlink(record) == 0);
    CHECK(userns_ensure(state, &map_1000, &map_1000, again, &created, err, sizeof(err)) == 0);
    CHECK(created);
    CHECK_STR(again, name);
    path_of(name, path, sizeof(path));
    check_maps_inside(name, &map_1000, &map_1000);
    CHECK(userns_release(state, name, err, sizeof(err)) == 0);
    CHECK_EQ_U(entries(), 0);
}

TEST(hash_clash_never_shares)
{
    char a[USERNS_NAME_MAX], b[USERNS_NAME_MAX], record[300];
    bool created;
    CHECK(userns_ensure(state, &map_1000, &map_1000, a, &created, err, sizeof(err)) == 0);
    /* Make the entry at a's name record other maps, as a clash would. */
    char text[USERNS_MAPS_TEXT_MAX];
    int len = userns_maps_format(&map_65532, &map_65532, text, sizeof(text));
    snprintf(record, sizeof(record), "%s/userns/%s.map", state, a);
    FILE *f = fopen(record, "w");
    CHECK(f && fwrite(text, 1, (size_t)len, f) == (size_t)len);
    if (f)
        fclose(f);
    CHECK(userns_ensure(state, &map_1000, &map_1000, b, &created, err, sizeof(err)) == 0);
    CHECK(created);
    char want[USERNS_NAME_MAX + 4];
    snprintf(want, sizeof(want), "%s-1", a);
    CHECK_STR(b, want);
    check_maps_inside(b, &map_1000, &map_1000);
    CHECK(userns_release(state, a, err, sizeof(err)) == 0);
    CHECK(userns_release(state, b, err, sizeof(err)) == 0);
    CHECK_EQ_U(entries(), 0);
}

TEST(kernel_rejection_leaves_nothing)
{
    /* 200 extents of 10-digit IDs: valid for the policy, but more than the
     * one page the kernel accepts in a single map write. */
    static struct id_mapping big;
    big.n = 200;
    for (uint32_t i = 0; i < 200; i++)
        big.e[i] = (struct id_extent){1000000000u + 2 * i, 1000000000u + 2 * i, 1};
    char name[USERNS_NAME_MAX];
    bool created;
    CHECK(userns_ensure(state, &big, &map_1000, name, &created, err, sizeof(err)) == -1);
    CHECK(strstr(err, "less than one page") != NULL);
    printf("  kernel says: %s\n", err);
    CHECK_EQ_U(entries(), 0);

    /* A host ID this process does not have cannot be mapped either. */
    struct id_mapping bad = {2, {{0, 0, 10}, {10, 5, 1}}};
    CHECK(userns_ensure(state, &bad, &map_1000, name, &created, err, sizeof(err)) == -1);
    CHECK(strstr(err, "uid_map") != NULL);
    CHECK_EQ_U(entries(), 0);
}

TEST(names_and_records)
{
    CHECK(userns_name_valid("0123456789abcdef"));
    CHECK(userns_name_valid("0123456789abcdef-15"));
    CHECK(!userns_name_valid("0123456789abcdef-16"));
    CHECK(userns_name_valid("0123456789abcdef-3"));
    CHECK(!userns_name_valid("0123456789abcdeF"));
    CHECK(!userns_name_valid("../../etc/passwd"));
    CHECK(!userns_name_valid("0123456789abcdef-0"));
    CHECK(!userns_name_valid("0123456789abcdef.map"));
    char text[USERNS_MAPS_TEXT_MAX];
    CHECK(userns_maps_format(&map_65532, &map_1000, text, sizeof(text)) > 0);
    CHECK_STR(text, "uid_map:\n0 0 2044\n2045 2045 3\n65532 2044 1\ngid_map:\n0 0 2048\n");
    struct id_mapping u, g;
    CHECK(userns_maps_parse(text, &u, &g, err, sizeof(err)) == 0);
    CHECK_EQ_U(u.n, 3);
    CHECK_EQ_U(g.n, 1);
    CHECK(userns_maps_parse("garbage", &u, &g, err, sizeof(err)) == -1);
    CHECK(userns_maps_parse("uid_map:\n0 0 0\ngid_map:\n", &u, &g, err, sizeof(err)) == -1);
    CHECK(strncmp(err, "uid_map:", 8) == 0);
}

int main(void)
{
    RUN(names_and_records);
    const char *why = ns_capable_here() ? NULL : "needs root and user namespaces";
    if (!why && !make_temp_dir(state)) {
        perror("mkdtemp");
        return 1;
    }
    RUN_UNLESS(why, create_read_back_reuse_release);
    RUN_UNLESS(why, half_made_entries_are_recovered);
    RUN_UNLESS(why, ensure_replaces_a_half_made_namespace);
    RUN_UNLESS(why, hash_clash_never_shares);
    RUN_UNLESS(why, kernel_rejection_leaves_nothing);
    if (!why && remove_state_dir(__FILE__, state, (const char *const[]){"userns", NULL}) != 0)
        return 1;
    return unit_done();
}

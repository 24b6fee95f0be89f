/* uid-mapper audit on images built here, in every supported packaging: the
 * owners, whiteouts (plain and opaque), hard links and PAX-sized IDs are
 * chosen so each rule changes the expected counts if it is broken. */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../audit/image_writer.h"
#include "audit/audit.h"
#include "run_binary.h"
#include "unit.h"

#define BIG 1000650000u /* OpenShift-style uid: needs a PAX header */

static char dir[] = "/tmp/audit-test-XXXXXX";
static char layers[3][PATH_MAX];
static char oci_dir[PATH_MAX], oci_tar[PATH_MAX], oci_tgz[PATH_MAX], docker_tar[PATH_MAX];

static const struct iw_entry layer1[] = {
    {'d', "./", 0, 0, NULL},
    {'d', "etc/", 0, 0, NULL},
    {'f', "etc/passwd", 0, 0,
     "root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"},
    {'f', "etc/group", 0, 0, "root:x:0:\nnonroot:x:65532:\nstaff:x:3000:nonroot\n"},
    {'d', "home/nonroot/", 65532, 65532, NULL},
    {'f', "home/nonroot/.profile", 65532, 65532, "umask 022\n"},
    {'d', "var/www/", 101, 101, NULL},
    {'f', "var/www/index.html", 101, 101, "<html>\n"},
    {'d', "opt/app/", BIG, BIG, NULL},
    {'f', "opt/app/bin", BIG, BIG, "\x7f" "ELF"},
    /* The header says root; the link is the same inode as its target. */
    {'h', "opt/app/bin-link", 0, 0, "opt/app/bin"},
    {'d', "data/", 1000, 1000, NULL},
    {'f', "data/old", 1000, 1000, "old\n"},
    {'d', "data/sub/", 1000, 1000, NULL},
    {'f', "data/sub/deep", 1000, 1000, "deep\n"},
};

static const struct iw_entry layer2[] = {
    {'f', "var/www/.wh.index.html", 0, 0, ""},
    {'d', "data/", 0, 0, NULL},
    {'f', "data/new", 2000, 2000, "new\n"},
    {'f', "data/.wh..wh..opq", 0, 0, ""}, /* after this layer's own entry */
    {'f', "etc/.wh.absent", 0, 0, ""},
};

static const struct iw_entry layer3[] = {
    {'f', "var/.wh.www", 0, 0, ""},
    {'l', "etc/localtime", 0, 0, "/usr/share/zoneinfo/UTC"},
};

static int build_images(void)
{
    char cmd[PATH_MAX + 32];
    if (!mkdtemp(dir))
        return -1;
    snprintf(layers[0], PATH_MAX, "%s/layer1.tar.gz", dir);
    snprintf(layers[1], PATH_MAX, "%s/layer2.tar.zst", dir);
    snprintf(layers[2], PATH_MAX, "%s/layer3.tar", dir);
    snprintf(oci_dir, PATH_MAX, "%s/oci", dir);
    snprintf(oci_tar, PATH_MAX, "%s/oci-archive.tar", dir);
    snprintf(oci_tgz, PATH_MAX, "%s/oci-archive.tar.gz", dir);
    snprintf(docker_tar, PATH_MAX, "%s/docker-archive.tar", dir);
    const char *const stack[] = {layers[0], layers[1], layers[2]};
    /* docker-archive repeats layer 2 on top: re-applying it must change
     * nothing, and its second copy is stored as a symlink. */
    const char *const docker_stack[] = {layers[0], layers[1], layers[2], layers[1]};
    struct iw_image img = {.user = "nonroot", .layers = stack, .n_layers = 3};
    struct iw_image docker_img = {.user = "nonroot", .layers = docker_stack, .n_layers = 4};
    snprintf(cmd, sizeof(cmd), "%s/scratch", dir);
    mkdir(cmd, 0700);
    if (iw_layer(layers[0], layer1, sizeof(layer1) / sizeof(layer1[0]), IW_GZIP) != 0 ||
        iw_layer(layers[1], layer2, sizeof(layer2) / sizeof(layer2[0]), IW_ZSTD) != 0 ||
        iw_layer(layers[2], layer3, sizeof(layer3) / sizeof(layer3[0]), IW_PLAIN) != 0 ||
        iw_oci_layout(oci_dir, &img, cmd) != 0 || iw_oci_archive(oci_tar, oci_dir, IW_PLAIN) != 0 ||
        iw_oci_archive(oci_tgz, oci_dir, IW_GZIP) != 0 ||
        iw_docker_archive(docker_tar, &docker_img, cmd) != 0)
        return -1;
    return 0;
}

static void remove_images(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", dir);
}

static uint64_t owned(const struct id_census *c, uint32_t id)
{
    const struct id_count *hit = census_find(c, id);
    return hit ? hit->entries : 0;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

/* The merged image: / etc etc/passwd etc/group etc/localtime data (root),
 * home/nonroot and its .profile (65532), opt/app, bin and the hard link
 * (BIG), data/new (2000). 101 and 1000 own only deleted or hidden files. */
static void check_expected(const char *path)
{
    struct audit_set set = {0};
    struct audit_error err = {""};
    int fds = open_fds();
    int rc = audit_path(path, &set, &err);
    CHECK(rc == 0);
    CHECK_EQ_U(open_fds(), fds);
    if (rc != 0) {
        fprintf(stderr, "  %s: %s\n", path, err.msg);
        return;
    }
    CHECK_EQ_U(set.n, 1);
    const struct image_audit *a = &set.v[0];
    CHECK_STR(a->ref, path);
    CHECK_STR(a->user_spec, "nonroot");
    CHECK_EQ_U(a->user.uid, 65532);
    CHECK_EQ_U(a->user.gid, 65532);
    CHECK_EQ_U(a->user.n_groups, 1);
    CHECK_EQ_U(a->user.groups[0], 3000);
    for (int k = 0; k < 2; k++) {
        const struct id_census *c = k ? &a->gids : &a->uids;
        CHECK_EQ_U(c->n, 4);
        CHECK_EQ_U(owned(c, 0), 6);
        CHECK_EQ_U(owned(c, 65532), 2);
        CHECK_EQ_U(owned(c, BIG), 3);
        CHECK_EQ_U(owned(c, 2000), 1);
        CHECK_EQ_U(owned(c, 101), 0);
        CHECK_EQ_U(owned(c, 1000), 0);
        const struct id_count *big = census_find(c, BIG);
        CHECK(big && strcmp(big->example, "/opt/app") == 0);
        const struct id_count *root = census_find(c, 0);
        CHECK(root && strcmp(root->example, "/") == 0);
    }
    audit_set_free(&set);
}

TEST(oci_layout_directory) { check_expected(oci_dir); }
TEST(oci_archive_read_in_place) { check_expected(oci_tar); }
TEST(oci_archive_compressed_streamed) { check_expected(oci_tgz); }
TEST(docker_archive_with_linked_repeat_layer) { check_expected(docker_tar); }

/* Layers and archives written by GNU tar rather than libarchive: GNU format
 * (base-256 numbers for IDs past 2097151), "./"-prefixed member names, and
 * gids that differ from uids. */
TEST(gnu_tar_layer_in_a_gnu_tar_docker_archive)
{
    char cmd[4 * PATH_MAX], archive[PATH_MAX];
    snprintf(archive, sizeof(archive), "%s/gnu/docker-archive.tar", dir);
    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s'; mkdir -p gnu/src/d gnu/stage/1; cd gnu; echo a > src/a; echo b > src/b;"
             "tar -C src --format=gnu --owner=0 --group=0 -cf layer.tar d;"
             "tar -C src --format=gnu --owner=1000650000 --group=1000650001 -rf layer.tar a;"
             "tar -C src --format=gnu --owner=65532 --group=65533 -rf layer.tar b;"
             "zstd -q --rm layer.tar -o stage/1/layer.tar;"
             "echo '{\"config\":{\"User\":\"65532:65533\"}}' > stage/c.json;"
             "echo '[{\"Config\":\"c.json\",\"Layers\":[\"1/layer.tar\"]}]' > stage/manifest.json;"
             "tar -C stage -cf docker-archive.tar .",
             dir);
    if (system(cmd) != 0) {
        SKIP(gnu_tar_layer_in_a_gnu_tar_docker_archive, "GNU tar or zstd missing");
        return;
    }
    struct audit_set set = {0};
    struct audit_error err = {""};
    CHECK(audit_path(archive, &set, &err) == 0);
    if (set.n != 1) {
        fprintf(stderr, "  %s\n", err.msg);
        CHECK(set.n == 1);
        return;
    }
    const struct image_audit *a = &set.v[0];
    CHECK(a->user.uid == 65532 && a->user.gid == 65533);
    CHECK_EQ_U(a->uids.n, 3);
    CHECK_EQ_U(owned(&a->uids, 0), 1);
    CHECK_EQ_U(owned(&a->uids, BIG), 1);
    CHECK_EQ_U(owned(&a->uids, 65532), 1);
    CHECK_EQ_U(a->gids.n, 3);
    CHECK_EQ_U(owned(&a->gids, BIG + 1), 1);
    CHECK_EQ_U(owned(&a->gids, 65533), 1);
    const struct id_count *big = census_find(&a->uids, BIG);
    CHECK(big && strcmp(big->example, "/a") == 0);
    audit_set_free(&set);
}

/* Runs the built uid-mapper (next to the test directory) and captures stdout. */
static int run_cli(const char *args, char *out, size_t len)
{
    char binary[PATH_MAX], cmd[PATH_MAX * 3];
    if (uid_mapper_binary(binary) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s' audit %s 2>/dev/null", binary, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t got = fread(out, 1, len - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Hard links carry their target's owner and content: a hard-linked
 * /etc/passwd still resolves the user, and a link that replaces its own
 * target's parent keeps the owner it had. A symlinked /etc/group is
 * followed to the file it names. */
TEST(links_are_their_targets)
{
    static const struct iw_entry entries[] = {
        {'f', "etc/passwd.real", 0, 0, "app:x:1234:4321::/:/bin/sh\n"},
        {'h', "etc/passwd", 99, 99, "etc/passwd.real"},
        {'f', "usr/lib/group", 0, 0, "grp:x:4321:\nextra:x:555:app\n"},
        {'l', "etc/group", 0, 0, "../usr/lib/group"},
        {'f', "x/y", 7, 7, "y"},
        {'h', "x", 99, 99, "x/y"},
        {'f', "evil\x1b]0;owned\x07", 8, 8, ""}, /* a terminal title escape */
    };
    char layer[PATH_MAX], image[PATH_MAX], scratch[PATH_MAX];
    snprintf(layer, sizeof(layer), "%s/links.tar", dir);
    snprintf(image, sizeof(image), "%s/links", dir);
    snprintf(scratch, sizeof(scratch), "%s/scratch", dir);
    const char *const stack[] = {layer};
    struct iw_image img = {.user = "app", .layers = stack, .n_layers = 1};
    CHECK(iw_layer(layer, entries, sizeof(entries) / sizeof(entries[0]), IW_PLAIN) == 0);
    CHECK(iw_oci_layout(image, &img, scratch) == 0);
    struct audit_set set = {0};
    struct audit_error err = {""};
    CHECK(audit_path(image, &set, &err) == 0);
    if (set.n != 1) {
        fprintf(stderr, "  %s\n", err.msg);
        CHECK(set.n == 1);
        return;
    }
    CHECK(set.v[0].user.uid == 1234 && set.v[0].user.gid == 4321);
    CHECK(set.v[0].user.n_groups == 1 && set.v[0].user.groups[0] == 555);
    CHECK_EQ_U(set.v[0].uids.n, 3);
    CHECK_EQ_U(owned(&set.v[0].uids, 0), 4);
    CHECK_EQ_U(owned(&set.v[0].uids, 7), 1);
    CHECK_EQ_U(owned(&set.v[0].uids, 8), 1);
    CHECK_EQ_U(owned(&set.v[0].uids, 99), 0);
    audit_set_free(&set);

    /* The text report shows the crafted name inert. */
    char args[PATH_MAX + 16], out[8192];
    snprintf(args, sizeof(args), "'%s'", image);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 0);
    CHECK(strstr(out, "/evil\\x1b]0;owned\\x07") != NULL);
    CHECK(strchr(out, '\x1b') == NULL);
}

/* docker save of several images: one result each, named by its first tag,
 * or by its position when untagged. */
TEST(several_images_in_one_archive)
{
    char cmd[4 * PATH_MAX], archive[PATH_MAX];
    snprintf(archive, sizeof(archive), "%s/several/docker-archive.tar", dir);
    snprintf(cmd, sizeof(cmd),
             "set -e; mkdir -p '%s/several/stage'; cd '%s/several';"
             "cp '%s' stage/layer.tar.gz;"
             "echo '{\"config\":{\"User\":\"nonroot\"}}' > stage/a.json;"
             "echo '{\"config\":{}}' > stage/b.json;"
             "echo '[{\"Config\":\"a.json\",\"RepoTags\":[\"reg/a:1\",\"reg/a:latest\"],"
             "\"Layers\":[\"layer.tar.gz\"]},"
             "{\"Config\":\"b.json\",\"RepoTags\":null,\"Layers\":[\"./layer.tar.gz\"]}]'"
             " > stage/manifest.json;"
             "tar -C stage -cf docker-archive.tar .",
             dir, dir, layers[0]);
    CHECK(system(cmd) == 0);
    struct audit_set set = {0};
    struct audit_error err = {""};
    CHECK(audit_path(archive, &set, &err) == 0);
    CHECK_EQ_U(set.n, 2);
    if (set.n == 2) {
        char want[PATH_MAX + 16];
        snprintf(want, sizeof(want), "%s:reg/a:1", archive);
        CHECK_STR(set.v[0].ref, want);
        CHECK_EQ_U(set.v[0].user.uid, 65532);
        snprintf(want, sizeof(want), "%s:#2", archive);
        CHECK_STR(set.v[1].ref, want);
        CHECK_EQ_U(set.v[1].user.uid, 0);
        /* layer 1 alone: data, data/old, data/sub and data/sub/deep are there */
        CHECK_EQ_U(owned(&set.v[1].uids, 1000), 4);
    }
    audit_set_free(&set);
}

/* Points index.json of a copy of the layout at a multi-platform image index
 * whose entries are given (each "PLATFORM_JSON|DIGEST"), the manifest digest
 * standing for "@". Returns the copy's path, or NULL. */
static const char *with_index(const char *name, const char *const *entries, size_t n)
{
    static char copy[PATH_MAX];
    char cmd[3 * PATH_MAX], file[PATH_MAX + 32], index[4096], digest[72], manifest[72] = "";
    snprintf(copy, sizeof(copy), "%s/%s", dir, name);
    snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s'", oci_dir, copy);
    if (system(cmd) != 0)
        return NULL;
    /* the one manifest is the blob index.json names */
    snprintf(file, sizeof(file), "%s/index.json", copy);
    FILE *f = fopen(file, "r");
    char text[4096] = "";
    size_t got = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[got] = '\0';
    const char *d = strstr(text, "sha256:");
    if (!d)
        return NULL;
    snprintf(manifest, sizeof(manifest), "%.71s", d);
    manifest[strcspn(manifest, "\"")] = '\0';
    int len = snprintf(index, sizeof(index), "{\"schemaVersion\":2,\"manifests\":[");
    for (size_t i = 0; i < n; i++) {
        const char *bar = strchr(entries[i], '|');
        len += snprintf(index + len, sizeof(index) - (size_t)len,
                        "%s{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                        "\"size\":1,\"platform\":%.*s,\"digest\":\"%s\"}",
                        i ? "," : "", (int)(bar - entries[i]), entries[i],
                        strcmp(bar + 1, "@") == 0 ? manifest : bar + 1);
    }
    snprintf(index + len, sizeof(index) - (size_t)len, "]}");
    snprintf(file, sizeof(file), "%s/scratch/nested.json", dir);
    if (iw_write_file(file, index) != 0 || iw_blob(copy, file, digest) != 0)
        return NULL;
    snprintf(index, sizeof(index),
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
             "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":1}]}",
             digest);
    snprintf(file, sizeof(file), "%s/index.json", copy);
    return iw_write_file(file, index) == 0 ? copy : NULL;
}

#define MISSING_BLOB "sha256:0000000000000000000000000000000000000000000000000000000000000000"

TEST(oci_index_skips_attestations_and_prefers_this_machine)
{
    /* No entry for this machine: the first real platform, not the
     * attestation listed before it. */
    const char *const other[] = {
        "{\"os\":\"unknown\",\"architecture\":\"unknown\"}|" MISSING_BLOB,
        "{\"os\":\"linux\",\"architecture\":\"not-this-machine\"}|@",
    };
    const char *path = with_index("multi-other", other, 2);
    CHECK(path != NULL);
    if (path)
        check_expected(path);

    struct utsname u;
    const char *arch = uname(&u) != 0                 ? NULL
                       : strcmp(u.machine, "x86_64") == 0  ? "amd64"
                       : strcmp(u.machine, "aarch64") == 0 ? "arm64"
                                                           : NULL;
    if (!arch) {
        SKIP(oci_index_prefers_this_machine, "machine is neither x86_64 nor aarch64");
        return;
    }
    char mine[128];
    snprintf(mine, sizeof(mine), "{\"os\":\"linux\",\"architecture\":\"%s\"}|@", arch);
    const char *const listed_second[] = {
        "{\"os\":\"linux\",\"architecture\":\"not-this-machine\"}|" MISSING_BLOB, mine};
    path = with_index("multi-mine", listed_second, 2);
    CHECK(path != NULL);
    if (path)
        check_expected(path);
}

static void expected_json(char *buf, size_t len, const char *ref, const char *tail)
{
    const char *counts = "{\"0\":6,\"2000\":1,\"65532\":2,\"1000650000\":3}";
    snprintf(buf, len,
             "{\"images\":[{\"ref\":\"%s\",\"user\":{\"uid\":65532,\"gid\":65532},"
             "\"uids\":%s,\"gids\":%s}],%s}\n",
             ref, counts, counts, tail);
}

TEST(cli_json_small_pool_is_not_covered)
{
    char args[PATH_MAX * 2], out[8192], want[8192];
    snprintf(args, sizeof(args), "--json --pool 0-2047 '%s'", docker_tar);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 1);
    expected_json(want, sizeof(want), docker_tar,
                  "\"covered\":false,\"missing\":{\"uids\":[65532,1000650000],"
                  "\"gids\":[3000,65532,1000650000]}");
    CHECK_STR(out, want);
}

TEST(cli_json_pool_from_map_files_is_covered)
{
    char map[PATH_MAX], args[PATH_MAX * 4], out[8192], want[8192];
    snprintf(map, sizeof(map), "%s/map", dir);
    CHECK(iw_write_file(map, "0 100000 65536\n1000650000 200000 1\n") == 0);
    snprintf(args, sizeof(args), "--json --uid-map '%s' --gid-map '%s' '%s'", map, map, oci_tar);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 0);
    expected_json(want, sizeof(want), oci_tar,
                  "\"covered\":true,\"missing\":{\"uids\":[],\"gids\":[]}");
    CHECK_STR(out, want);
    /* --pool narrows the map's pool: 65532 drops out. */
    snprintf(args, sizeof(args), "--json --uid-map '%s' --gid-map '%s' --pool 0-65531,1000650000 '%s'",
             map, map, oci_tar);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 1);
    CHECK(strstr(out, "\"missing\":{\"uids\":[65532],\"gids\":[65532]}") != NULL);
}

TEST(cli_text_names_the_gaps)
{
    char args[PATH_MAX * 2], out[16384];
    snprintf(args, sizeof(args), "--pool 0-65535 '%s'", oci_dir);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 1);
    CHECK(strstr(out, "uid 1000650000: owns 3 entries (e.g. /opt/app)") != NULL);
    CHECK(strstr(out, "gid 1000650000: owns 3 entries (e.g. /opt/app)") != NULL);
    CHECK(strstr(out, "verdict: NOT covered") != NULL);
}

TEST(cli_suggest_map)
{
    char args[PATH_MAX * 2], out[8192];
    snprintf(args, sizeof(args), "--suggest-map 2048 --json '%s'", oci_tgz);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 0);
    CHECK_STR(out, "{\"uidRanges\":[[0,2046],[65532,1],[1000650000,1]],"
                   "\"gidRanges\":[[0,2045],[3000,1],[65532,1],[1000650000,1]]}\n");
    snprintf(args, sizeof(args), "--suggest-map 2048 '%s'", oci_tgz);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 0);
    CHECK(strstr(out, "--uidmap 0:0:2046 --uidmap 65532:2046:1 --uidmap 1000650000:2047:1") != NULL);
    CHECK(strstr(out, "     65532       2046          1\n") != NULL);
    /* 0, 2000, 65532 and BIG cannot share 3 IDs. */
    snprintf(args, sizeof(args), "--suggest-map 3 '%s'", oci_tgz);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 1);
}

TEST(cli_bad_input_exits_2)
{
    char args[PATH_MAX * 2], out[4096], path[PATH_MAX];
    CHECK_EQ_U(run_cli("/nonexistent/image", out, sizeof(out)), 2);
    snprintf(args, sizeof(args), "'%s'", layers[2]); /* a layer is no image */
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 2);
    snprintf(path, sizeof(path), "%s/not-a-tar", dir);
    CHECK(iw_write_file(path, "hello\n") == 0);
    snprintf(args, sizeof(args), "'%s'", path);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 2);
    snprintf(args, sizeof(args), "--pool 5-1 '%s'", oci_dir);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 2);
    snprintf(args, sizeof(args), "--suggest-map 0 '%s'", oci_dir);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 2);
    snprintf(args, sizeof(args), "--suggest-map 2048 --pool 0-2047 '%s'", oci_dir);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 2);
    snprintf(args, sizeof(args), "--uid-map /nonexistent '%s'", oci_dir);
    CHECK_EQ_U(run_cli(args, out, sizeof(out)), 2);
    CHECK_EQ_U(run_cli("--json", out, sizeof(out)), 2);
}

/* A user the image does not define, and a layer that is not a tar stream. */
TEST(broken_images_are_refused)
{
    char bad_layer[PATH_MAX], img_dir[PATH_MAX], scratch[PATH_MAX];
    struct audit_set set = {0};
    struct audit_error err = {""};
    snprintf(scratch, sizeof(scratch), "%s/scratch", dir);
    int fds = open_fds();

    const char *const stack[] = {layers[0]};
    struct iw_image ghost = {.user = "ghost:nonroot", .layers = stack, .n_layers = 1};
    snprintf(img_dir, sizeof(img_dir), "%s/ghost", dir);
    CHECK(iw_oci_layout(img_dir, &ghost, scratch) == 0);
    CHECK(audit_path(img_dir, &set, &err) == -1);
    CHECK(strstr(err.msg, "no user 'ghost'") != NULL);

    snprintf(bad_layer, sizeof(bad_layer), "%s/bad-layer", dir);
    CHECK(iw_write_file(bad_layer, "{\"not\":\"a tar\"}") == 0);
    const char *const bad_stack[] = {layers[0], bad_layer};
    struct iw_image bad = {.user = NULL, .layers = bad_stack, .n_layers = 2};
    snprintf(img_dir, sizeof(img_dir), "%s/bad", dir);
    CHECK(iw_oci_layout(img_dir, &bad, scratch) == 0);
    CHECK(audit_path(img_dir, &set, &err) == -1);
    CHECK(strstr(err.msg, "layer 2") != NULL);
    CHECK_EQ_U(set.n, 0);
    CHECK_EQ_U(open_fds(), fds);
    audit_set_free(&set);
}

int main(void)
{
    if (build_images() != 0) {
        printf("FAIL: %s:build_images (could not build the test images in %s)\n", __FILE__, dir);
        remove_images();
        return 1;
    }
    RUN(oci_layout_directory);
    RUN(oci_archive_read_in_place);
    RUN(oci_archive_compressed_streamed);
    RUN(docker_archive_with_linked_repeat_layer);
    RUN(oci_index_skips_attestations_and_prefers_this_machine);
    RUN(gnu_tar_layer_in_a_gnu_tar_docker_archive);
    RUN(links_are_their_targets);
    RUN(several_images_in_one_archive);
    RUN(cli_json_small_pool_is_not_covered);
    RUN(cli_json_pool_from_map_files_is_covered);
    RUN(cli_text_names_the_gaps);
    RUN(cli_suggest_map);
    RUN(cli_bad_input_exits_2);
    RUN(broken_images_are_refused);
    remove_images();
    return unit_done();
}

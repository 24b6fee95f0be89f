/* Builds test images the way image tools lay them out, so the audit is tested
 * on bytes it has never seen from its own code paths:
 *   layers:          PAX tar (owners > 2097151 need PAX), plain/gzip/zstd
 *   OCI layout:      oci-layout, index.json, blobs/sha256/<digest>
 *   oci-archive:     that layout as a tarball (optionally gzip-compressed)
 *   docker-archive:  manifest.json + <hex>.json config + <n>/layer.tar, a
 *                    repeated layer stored as a symlink, as docker save does
 * Header-only (static inline functions) because each unit test and benchmark is a
 * single translation unit. */
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum iw_compression { IW_PLAIN, IW_GZIP, IW_ZSTD };

struct iw_entry {
    char type;        /* 'f' file, 'd' directory, 'l' symlink, 'h' hard link */
    const char *path; /* as stored in the tar */
    uint32_t uid, gid;
    const char *data; /* file content, or link target */
};

struct iw_image {
    const char *user;          /* config User; NULL = unset */
    const char *const *layers; /* layer blob files, bottom first */
    size_t n_layers;
};

static inline int iw_add_filter(struct archive *w, enum iw_compression c)
{
    switch (c) {
    case IW_GZIP:
        return archive_write_add_filter_gzip(w);
    case IW_ZSTD:
        return archive_write_add_filter_zstd(w);
    default:
        return archive_write_add_filter_none(w);
    }
}

/* Writes one entry with data of len bytes (data may be NULL for zeros). */
static inline int iw_write(struct archive *w, const char *path, char type, uint32_t uid, uint32_t gid,
                    const char *data, size_t len, const char *link)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, 1700000000, 0);
    switch (type) {
    case 'd':
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        len = 0;
        break;
    case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_perm(e, 0777);
        archive_entry_set_symlink(e, link);
        len = 0;
        break;
    case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_hardlink(e, link);
        len = 0;
        break;
    default:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
    }
    archive_entry_set_size(e, (la_int64_t)len);
    int rc = archive_write_header(w, e) == ARCHIVE_OK ? 0 : -1;
    static const char zeros[4096];
    for (size_t done = 0; rc == 0 && done < len;) {
        size_t n = len - done < sizeof(zeros) ? len - done : sizeof(zeros);
        if (archive_write_data(w, data ? data + done : zeros, n) != (la_ssize_t)n)
            rc = -1;
        done += n;
    }
    archive_entry_free(e);
    return rc;
}

static inline struct archive *iw_open(const char *path, enum iw_compression c)
{
    struct archive *w = archive_write_new();
    if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
        iw_add_filter(w, c) != ARCHIVE_OK || archive_write_open_filename(w, path) != ARCHIVE_OK) {
        fprintf(stderr, "image_writer: %s: %s\n", path, archive_error_string(w));
        archive_write_free(w);
        return NULL;
    }
    return w;
}

static inline int iw_close(struct archive *w)
{
    int rc = archive_write_close(w) == ARCHIVE_OK ? 0 : -1;
    archive_write_free(w);
    return rc;
}

static inline int iw_layer(const char *path, const struct iw_entry *e, size_t n, enum iw_compression c)
{
    struct archive *w = iw_open(path, c);
    int rc = w ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool link = e[i].type == 'l' || e[i].type == 'h';
        rc = iw_write(w, e[i].path, e[i].type, e[i].uid, e[i].gid, link ? NULL : e[i].data,
                      !link && e[i].data ? strlen(e[i].data) : 0, link ? e[i].data : NULL);
    }
    return w && iw_close(w) == 0 ? rc : -1;
}

static inline int iw_sha256(const char *path, char hex[65])
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    int ok = p && fscanf(p, "%64s", hex) == 1 && strlen(hex) == 64;
    return (p ? pclose(p) : -1) == 0 && ok ? 0 : -1;
}

static inline int iw_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int rc = fputs(text, f) >= 0 ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

static inline int iw_copy(const char *from, const char *to)
{
    char cmd[2 * PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", from, to);
    return system(cmd) == 0 ? 0 : -1;
}

static inline long iw_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Stores a file as a blob of the layout at dir; fills "sha256:<hex>". */
static inline int iw_blob(const char *dir, const char *file, char digest[72])
{
    char hex[65], dst[PATH_MAX];
    if (iw_sha256(file, hex) != 0)
        return -1;
    snprintf(digest, 72, "sha256:%s", hex);
    if (snprintf(dst, sizeof(dst), "%s/blobs/sha256/%s", dir, hex) >= (int)sizeof(dst))
        return -1;
    return iw_copy(file, dst);
}

/* The image config, written to file. */
static inline int iw_config(const char *file, const struct iw_image *img)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{%s%s%s\"Env\":[\"PATH=/bin\"]},"
             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}",
             img->user ? "\"User\":\"" : "", img->user ? img->user : "", img->user ? "\"," : "");
    return iw_write_file(file, text);
}

static inline const char *iw_layer_type(const char *file)
{
    FILE *f = fopen(file, "rb");
    unsigned char m[4] = {0};
    size_t n = f ? fread(m, 1, 4, f) : 0;
    if (f)
        fclose(f);
    if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        return "application/vnd.oci.image.layer.v1.tar+gzip";
    if (n == 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        return "application/vnd.oci.image.layer.v1.tar+zstd";
    return "application/vnd.oci.image.layer.v1.tar";
}

/* Writes an OCI image layout with one image into dir (created). */
static inline int iw_oci_layout(const char *dir, const struct iw_image *img, const char *scratch)
{
    char path[PATH_MAX + 64], digest[72], manifest[65536], file[PATH_MAX];
    snprintf(path, sizeof(path), "mkdir -p '%s/blobs/sha256'", dir);
    if (system(path) != 0)
        return -1;
    snprintf(file, sizeof(file), "%s/config.json", scratch);
    if (iw_config(file, img) != 0 || iw_blob(dir, file, digest) != 0)
        return -1;
    int len = snprintf(manifest, sizeof(manifest),
                       "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                       "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                       "\"digest\":\"%s\",\"size\":%ld},\"layers\":[",
                       digest, iw_size(file));
    for (size_t i = 0; i < img->n_layers; i++) {
        if (iw_blob(dir, img->layers[i], digest) != 0)
            return -1;
        len += snprintf(manifest + len, sizeof(manifest) - (size_t)len,
                        "%s{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%ld}", i ? "," : "",
                        iw_layer_type(img->layers[i]), digest, iw_size(img->layers[i]));
    }
    snprintf(manifest + len, sizeof(manifest) - (size_t)len, "]}");
    snprintf(file, sizeof(file), "%s/manifest.json", scratch);
    if (iw_write_file(file, manifest) != 0 || iw_blob(dir, file, digest) != 0)
        return -1;
    char index[1024];
    snprintf(index, sizeof(index),
             "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
             "\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%ld,"
             "\"annotations\":{\"org.opencontainers.image.ref.name\":\"latest\"}}]}",
             digest, iw_size(file));
    snprintf(path, sizeof(path), "%s/index.json", dir);
    if (iw_write_file(path, index) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/oci-layout", dir);
    return iw_write_file(path, "{\"imageLayoutVersion\":\"1.0.0\"}");
}

/* Adds the file at disk_path to the tarball as name. */
static inline int iw_add_file(struct archive *w, const char *name, const char *disk_path)
{
    FILE *f = fopen(disk_path, "rb");
    long size = iw_size(disk_path);
    char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    int rc = f && buf && fread(buf, 1, (size_t)size, f) == (size_t)size
                 ? iw_write(w, name, 'f', 0, 0, buf, (size_t)size, NULL)
                 : -1;
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

/* An oci-archive: the layout at dir as a tarball, members named like
 * skopeo writes them (no "./" prefix). */
static inline int iw_oci_archive(const char *tarball, const char *dir, enum iw_compression c)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof(cmd), "cd '%s' && find . -type f | sed 's|^\\./||' | sort", dir);
    FILE *p = popen(cmd, "r");
    struct archive *w = p ? iw_open(tarball, c) : NULL;
    int rc = w ? 0 : -1;
    char line[PATH_MAX], disk[2 * PATH_MAX + 2];
    while (rc == 0 && fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\n")] = '\0';
        snprintf(disk, sizeof(disk), "%s/%s", dir, line);
        rc = iw_add_file(w, line, disk);
    }
    if (p && pclose(p) != 0)
        rc = -1;
    return w && iw_close(w) == 0 ? rc : -1;
}

/* A docker-archive in the classic docker save layout. When the same layer
 * file is listed twice, its second copy is a symlink to the first. */
static inline int iw_docker_archive(const char *tarball, const struct iw_image *img, const char *scratch)
{
    char file[PATH_MAX], hex[65], name[128], manifest[65536];
    struct archive *w = iw_open(tarball, IW_PLAIN);
    if (!w)
        return -1;
    snprintf(file, sizeof(file), "%s/config.json", scratch);
    int rc = iw_config(file, img) == 0 && iw_sha256(file, hex) == 0 ? 0 : -1;
    snprintf(name, sizeof(name), "%s.json", hex);
    if (rc == 0)
        rc = iw_add_file(w, name, file);
    int len = snprintf(manifest, sizeof(manifest),
                       "[{\"Config\":\"%s\",\"RepoTags\":[\"test/image:latest\"],\"Layers\":[", name);
    for (size_t i = 0; rc == 0 && i < img->n_layers; i++) {
        size_t first = i;
        for (size_t j = 0; j < i; j++)
            if (strcmp(img->layers[j], img->layers[i]) == 0 && first == i)
                first = j;
        snprintf(name, sizeof(name), "%zu/layer.tar", i + 1);
        if (first == i) {
            rc = iw_add_file(w, name, img->layers[i]);
        } else {
            char target[64];
            snprintf(target, sizeof(target), "../%zu/layer.tar", first + 1);
            rc = iw_write(w, name, 'l', 0, 0, NULL, 0, target);
        }
        len += snprintf(manifest + len, sizeof(manifest) - (size_t)len, "%s\"%s\"", i ? "," : "",
                        name);
    }
    snprintf(manifest + len, sizeof(manifest) - (size_t)len, "]}]");
    if (rc == 0)
        rc = iw_write(w, "manifest.json", 'f', 0, 0, manifest, strlen(manifest), NULL);
    return iw_close(w) == 0 ? rc : -1;
}

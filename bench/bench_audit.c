/* uid-mapper audit against `tar -tvf` on the same layer: both must inflate
 * and walk every header, so the comparison shows what the audit adds
 * (whiteout bookkeeping, the path tree, counting). Builds a ~150 MB layer
 * of 40,000 entries, gzip and zstd, in a scratch directory; prints MB/s
 * (uncompressed tar bytes per wall second) and peak RSS from
 * /usr/bin/time -v. Never fails on timing. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/audit/image_writer.h"

#define DIRS 400
#define FILES_PER_DIR 100
#define MAX_FILE 7500

static char scratch[] = "/tmp/bench-audit-XXXXXX";

static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

/* Half words, half noise: compresses about 2x, like binaries and data in
 * real layers. */
static void fill(char *buf, size_t len, uint32_t *state)
{
    static const char *const words[] = {"lib", "usr", "share", "locale", "python3", "site",
                                        "packages", "__init__", "config", "0.1.2", "\n", " "};
    size_t i = 0;
    while (i < len) {
        uint32_t r = next_random(state);
        if (r & 1) {
            buf[i++] = (char)(r >> 8);
            continue;
        }
        for (const char *w = words[(r >> 8) % (sizeof(words) / sizeof(words[0]))]; *w && i < len; w++)
            buf[i++] = *w;
    }
}

/* Writes the layer; returns its uncompressed tar size, or 0 on failure. */
static uint64_t build_layer(const char *path, enum iw_compression c)
{
    struct archive *w = iw_open(path, c);
    char *buf = malloc(MAX_FILE), name[64];
    uint32_t seed = 1;
    int rc = w && buf ? 0 : -1;
    for (int d = 0; rc == 0 && d < DIRS; d++) {
        snprintf(name, sizeof(name), "usr/lib/pkg%03d/", d);
        rc = iw_write(w, name, 'd', 0, 0, NULL, 0, NULL);
        for (int f = 0; rc == 0 && f < FILES_PER_DIR; f++) {
            size_t len = next_random(&seed) % MAX_FILE;
            fill(buf, len, &seed);
            snprintf(name, sizeof(name), "usr/lib/pkg%03d/file%03d.py", d, f);
            /* a few owners, one of them PAX-sized */
            uint32_t owner = f % 10 == 0 ? 1000650000u : f % 3 == 0 ? 1000 : 0;
            rc = iw_write(w, name, 'f', owner, owner, buf, len, NULL);
        }
    }
    free(buf);
    if (!w)
        return 0;
    rc |= archive_write_close(w) == ARCHIVE_OK ? 0 : -1;
    uint64_t raw = (uint64_t)archive_filter_bytes(w, 0); /* before compression */
    archive_write_free(w);
    return rc == 0 ? raw : 0;
}

struct run {
    double seconds;
    long max_rss_kb;
};

/* Runs cmd under /usr/bin/time -v; fills wall seconds and peak RSS. */
static int measure(const char *cmd, struct run *out)
{
    char full[PATH_MAX * 4], line[512], log[PATH_MAX];
    snprintf(log, sizeof(log), "%s/time.log", scratch);
    snprintf(full, sizeof(full), "/usr/bin/time -v -o '%s' %s >/dev/null 2>&1", log, cmd);
    int status = system(full);
    FILE *f = fopen(log, "r");
    *out = (struct run){-1, -1};
    while (f && fgets(line, sizeof(line), f)) {
        unsigned h, m;
        double s;
        if (sscanf(line, " Elapsed (wall clock) time (h:mm:ss or m:ss): %u:%u:%lf", &h, &m, &s) == 3)
            out->seconds = h * 3600.0 + m * 60.0 + s;
        else if (sscanf(line, " Elapsed (wall clock) time (h:mm:ss or m:ss): %u:%lf", &m, &s) == 2)
            out->seconds = m * 60.0 + s;
        sscanf(line, " Maximum resident set size (kbytes): %ld", &out->max_rss_kb);
    }
    if (f)
        fclose(f);
    return status == -1 || out->seconds < 0 ? -1 : 0;
}

static void report(const char *what, const struct run *r, uint64_t raw, uint64_t packed)
{
    double s = r->seconds > 0.005 ? r->seconds : 0.005; /* /usr/bin/time has 10 ms steps */
    printf("  %-34s %7.2f s  %7.1f MB/s raw  %6.1f MB/s packed  peak RSS %6.1f MB\n", what,
           r->seconds, (double)raw / s / 1e6, (double)packed / s / 1e6, r->max_rss_kb / 1024.0);
}

static int bench(const char *self_dir, enum iw_compression c, const char *label,
                 const char *tar_flag)
{
    char layer[PATH_MAX], image[PATH_MAX], cmd[PATH_MAX * 3];
    snprintf(layer, sizeof(layer), "%s/layer.%s", scratch, label);
    snprintf(image, sizeof(image), "%s/image-%s", scratch, label);
    uint64_t raw = build_layer(layer, c);
    const char *const layers[] = {layer};
    struct iw_image img = {.user = "0", .layers = layers, .n_layers = 1};
    if (raw == 0 || iw_oci_layout(image, &img, scratch) != 0) {
        printf("  could not build the %s test layer\n", label);
        return -1;
    }
    uint64_t packed = (uint64_t)iw_size(layer);
    printf("%s layer: %d entries, %.1f MB tar, %.1f MB %s\n", label, DIRS * (FILES_PER_DIR + 1),
           raw / 1e6, packed / 1e6, label);
    struct run r;
    char label_tar[64];
    snprintf(label_tar, sizeof(label_tar), "tar %s -tvf (same layer)", tar_flag);
    snprintf(cmd, sizeof(cmd), "tar %s -tvf '%s'", tar_flag, layer);
    if (measure(cmd, &r) == 0)
        report(label_tar, &r, raw, packed);
    snprintf(cmd, sizeof(cmd), "'%s/../uid-mapper' audit --json --pool 0-65535 '%s'", self_dir,
             image);
    if (measure(cmd, &r) == 0)
        report("uid-mapper audit (OCI layout)", &r, raw, packed);
    return 0;
}

int main(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n < 0 || !mkdtemp(scratch)) {
        printf("bench_audit: cannot set up (%s)\n", n < 0 ? "no /proc/self/exe" : "mkdtemp");
        return 0;
    }
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    if (access("/usr/bin/time", X_OK) != 0)
        printf("bench_audit: /usr/bin/time is missing (apt-get install time); no numbers\n");
    else if (bench(self, IW_GZIP, "gzip", "-z") == 0)
        bench(self, IW_ZSTD, "zstd", "--zstd");
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
    return system(cmd) == 0 ? 0 : 0;
}

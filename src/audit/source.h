/* Where an image's files live: an OCI layout directory, or a tarball of one
 * (oci-archive) or a docker-archive. Members are named by their path inside
 * the layout ("index.json", "blobs/sha256/<hex>", "<id>/layer.tar").
 *
 * Nothing is extracted to disk. A plain (uncompressed) tarball is indexed
 * once, header by header, and each member is then read in place at its
 * offset; a compressed tarball cannot be read at an offset, so each member
 * is found by streaming the tarball again up to it. */
#pragma once
#include <stddef.h>

#include "audit/error.h"

struct archive;
struct image_source;

/* Opens the image at path (a directory or a regular file). */
struct image_source *source_open(const char *path, struct audit_error *err);
void source_close(struct image_source *src);

/* Does the image hold a member of that name? */
int source_has(struct image_source *src, const char *name);

/* Reads a whole member of at most max bytes into a malloc'd NUL-terminated
 * buffer. Returns 0, or -1 with err. */
int source_read(struct image_source *src, const char *name, size_t max, char **buf,
                size_t *len, struct audit_error *err);

/* Opens a layer member as a tar stream, gzip- or zstd-compressed or plain;
 * the caller reads entries with libarchive and releases it with
 * source_layer_close. Returns NULL with err. */
struct archive *source_layer_open(struct image_source *src, const char *name,
                                  struct audit_error *err);
void source_layer_close(struct archive *layer);

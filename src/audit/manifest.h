/* Image format discovery: which images a source holds, and for each the
 * config blob and the layers in order (bottom first).
 *   OCI layout / oci-archive: index.json -> manifest (through a nested image
 *     index, choosing this machine's platform) -> config + layers
 *   docker-archive: manifest.json -> Config + Layers
 * When a source holds both (docker save since 25.0), index.json wins. */
#pragma once
#include <stddef.h>

#include "audit/error.h"
#include "audit/source.h"

/* Metadata files are small; anything larger is refused rather than read. */
#define MANIFEST_MAX_BYTES (16u << 20)

struct image_desc {
    char *ref;    /* what reports call the image */
    char *config; /* member name of the config blob */
    char **layers;
    size_t n_layers;
};

struct image_list {
    struct image_desc *v;
    size_t n;
};

/* Lists the images in src. arg is the name the user gave the source; an
 * image's ref is arg, or "arg:NAME" when the source holds several images.
 * Returns 0, or -1 with err. */
int manifest_discover(struct image_source *src, const char *arg, struct image_list *out,
                      struct audit_error *err);
void image_list_free(struct image_list *list);

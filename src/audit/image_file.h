/* Reading one file of an image's merged filesystem after its layers were
 * applied: the user databases, which may be symlinks or hard links (a tar
 * stores a hard-linked file's data once, under whichever name came first). */
#pragma once

#include "audit/error.h"
#include "audit/manifest.h"
#include "audit/source.h"
#include "audit/tree.h"

/* The content of the file at the clean path, as a malloc'd string in *text;
 * *text is NULL when the image has no such file (or a link leads nowhere).
 * Content captured while the layers streamed by is used directly; a link is
 * followed by re-reading the layer that wrote each step, which is rare
 * enough not to be worth capturing every link on the way.
 * Returns 0, or -1 with err when a layer cannot be read. */
int image_file(struct image_source *src, const struct image_desc *desc, struct tree *t,
               const char *path, char **text, struct audit_error *err);

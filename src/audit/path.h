/* Lexical path cleaning for names found inside images. */
#pragma once
#include <stddef.h>

/* Writes the clean relative form of path to out: no leading '/', no empty,
 * '.' or trailing components, and '..' resolved lexically without climbing
 * above the root (as container runtimes unpack layers: "../../etc/x" lands
 * on "etc/x"). The root itself is "". Returns 0, or -1 when the result does
 * not fit in outlen bytes. */
int path_clean(const char *path, char *out, size_t outlen);

/* The clean path that a symlink at the clean path link names by target:
 * relative targets start from the link's directory, absolute ones from the
 * root. Returns 0, or -1 when the result does not fit in outlen bytes. */
int path_follow(const char *link, const char *target, char *out, size_t outlen);

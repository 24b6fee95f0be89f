/* Writing JSON: what the --json outputs of plan, status and audit share. */
#pragma once
#include <stdio.h>

#include "policy/idmap.h"

/* Writes s as a JSON string: quotes and backslashes escaped, control bytes
 * as \u00XX, every other byte (UTF-8 included) as it is. */
void json_put_string(FILE *out, const char *s);

/* Writes a map as [{"containerID":C,"hostID":H,"size":N},...]. */
void json_put_mapping(FILE *out, const struct id_mapping *m);

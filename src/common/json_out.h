/* Writing JSON: what the --json outputs of status and audit share. */
#pragma once
#include <stdio.h>

/* Writes s as a JSON string: quotes and backslashes escaped, control bytes
 * as \u00XX, every other byte (UTF-8 included) as it is. */
void json_put_string(FILE *out, const char *s);

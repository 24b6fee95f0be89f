/* Decimal numbers and comma-separated lists in ID text (maps, pool ranges,
 * ID lists). Internal to the policy layer. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Parses the unsigned decimal number at s (digits only: no sign, no leading
 * space). Returns the first character after it, or NULL when s does not
 * start with a digit or the number exceeds UINT32_MAX. */
const char *decimal_u32(const char *s, uint32_t *out);

/* The number of items in a comma-separated list (commas + 1). */
size_t list_items(const char *s);

/* The length of the list item starting at s (up to ',' or the end), for
 * quoting it in an error message. */
int list_item_len(const char *s);

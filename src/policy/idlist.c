/* Comma-separated ID lists: "0,65534,1000650000". */
#include "policy/idmap.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy/decimal.h"

int id_list_parse(const char *s, uint32_t **ids, size_t *n, char *err, size_t errlen)
{
    *ids = NULL;
    *n = 0;
    if (*s == '\0')
        return 0;
    size_t max = list_items(s);
    uint32_t *v = malloc(max * sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < max; i++, s++) {
        const char *item = s;
        s = decimal_u32(item, &v[i]);
        if (!s || (*s != ',' && *s != '\0') || v[i] > IDMAP_MAX_ID) {
            snprintf(err, errlen, "\"%.*s\" is not an ID (a decimal number 0-%" PRIu32 ")",
                     list_item_len(item), item, IDMAP_MAX_ID);
            free(v);
            return -1;
        }
    }
    *ids = v;
    *n = max;
    return 0;
}

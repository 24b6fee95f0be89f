#include "policy/decimal.h"

const char *decimal_u32(const char *s, uint32_t *out)
{
    if (*s < '0' || *s > '9')
        return NULL;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return NULL;
    }
    *out = (uint32_t)v;
    return s;
}

size_t list_items(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

int list_item_len(const char *s)
{
    int len = 0;
    while (s[len] && s[len] != ',' && len < 64) /* enough to recognise it */
        len++;
    return len;
}

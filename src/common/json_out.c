#include "common/json_out.h"

#include <inttypes.h>

void json_put_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

void json_put_mapping(FILE *out, const struct id_mapping *m)
{
    fputc('[', out);
    for (size_t i = 0; i < m->n; i++)
        fprintf(out, "%s{\"containerID\":%" PRIu32 ",\"hostID\":%" PRIu32 ",\"size\":%" PRIu32
                "}", i ? "," : "", m->e[i].container_id, m->e[i].host_id, m->e[i].size);
    fputc(']', out);
}

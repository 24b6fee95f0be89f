/* libFuzzer: untrusted image metadata (index.json, manifests, configs)
 * through the audit's JSON reader, and each string member through user
 * resolution as if it were a config's User. */
#include <stddef.h>
#include <stdint.h>

#include "audit/json.h"
#include "audit/userdb.h"

static const char passwd[] = "root:x:0:0::/:/bin/sh\nnonroot:x:65532:65532::/:/bin/sh\n";
static const char group[] = "root:x:0:\nnonroot:x:65532:\nstaff:x:50:nonroot\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct audit_error err;
    struct json *doc = json_parse((const char *)data, size, &err);
    if (!doc)
        return 0;
    for (const struct json *m = doc->child; m; m = m->next) {
        struct image_user user;
        if (m->type == JSON_STRING)
            userdb_resolve(m->str, passwd, group, &user, &err);
    }
    json_free(doc);
    return 0;
}

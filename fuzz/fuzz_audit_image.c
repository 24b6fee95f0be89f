/* libFuzzer: an untrusted image tarball (oci-archive or docker-archive)
 * through the whole audit: member index, manifests, configs, layers, links
 * to the user databases. The bytes are served from a memfd by path, as a
 * file on disk would be. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("image", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        char path[64];
        struct audit_set set = {0};
        struct audit_error err;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        audit_path(path, &set, &err);
        audit_set_free(&set);
    }
    close(fd);
    return 0;
}

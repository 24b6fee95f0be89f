/* One NRI plugin connection as a pure state machine: bytes from the runtime
 * go in (nri_session_feed), bytes for the runtime come out (nri_session_out),
 * and the handlers are called in between. No I/O happens here, so unit tests
 * and fuzzers drive it directly; plugin/stub.c puts it on a socket.
 *
 * The plugin serves the Plugin service on mux conn 1 and calls the Runtime
 * service (RegisterPlugin) on mux conn 2. Both are ttrpc: a bad request gets
 * an error status and the connection stays up; only a broken byte stream (an
 * impossible frame length) or memory exhaustion ends the session. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/stub.h"
#include "wire/wire_error.h"
#include "wire/wbuf.h"

#define NRI_RUNTIME_SERVICE "nri.pkg.api.v1alpha1.Runtime"
#define NRI_PLUGIN_SERVICE  "nri.pkg.api.v1alpha1.Plugin"
/* The NRI API level whose messages and field numbers nri.proto follows. */
#define NRI_API_VERSION "v0.12.0"

struct nri_session_config {
    const char *name; /* plugin name and index sent in RegisterPlugin */
    const char *idx;
    /* Used when the runtime's Configure config string is empty (external
     * mode's --config FILE); a non-empty runtime string always wins. */
    const char *fallback_config;
    const struct nri_handlers *handlers;
};

struct nri_session;

struct nri_session *nri_session_new(const struct nri_session_config *cfg);
void nri_session_free(struct nri_session *s);

/* Queues the RegisterPlugin call. 0, or -1 when out of memory. */
int nri_session_register(struct nri_session *s);
/* Consumes bytes received from the runtime. 0, or -1 with err filled when the
 * stream cannot continue (the connection must be closed). */
int nri_session_feed(struct nri_session *s, const uint8_t *data, size_t len,
                     struct wire_error *err);
/* Bytes waiting to be sent; the caller consumes what it wrote. */
struct wbuf *nri_session_out(struct nri_session *s);
/* True between frames and messages: an end of stream now is not truncation. */
bool nri_session_at_boundary(const struct nri_session *s);

bool nri_session_configured(const struct nri_session *s);
/* The runtime called Shutdown: it is going away on purpose. */
bool nri_session_shutdown_requested(const struct nri_session *s);
/* The runtime refused RegisterPlugin, or our configure handler rejected the
 * configuration; either way the session cannot become useful. */
bool nri_session_refused(const struct nri_session *s);
bool nri_session_config_rejected(const struct nri_session *s);

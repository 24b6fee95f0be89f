/* The NRI plugin stub: registers with the runtime, serves the Plugin service
 * and calls the handlers below, in the spirit of the Go stub's interfaces.
 * It owns the transport (wire/); the handlers own the policy and effects.
 *
 * All handlers run on the stub's single thread, one request at a time, so
 * handlers need no locking. Messages are the protobuf-c types generated from
 * src/wire/nri.proto; the stub frees requests after the handler returns. */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "nri.pb-c.h"

typedef Nri__Pkg__Api__V1alpha1__PodSandbox nri_pod;
typedef Nri__Pkg__Api__V1alpha1__Container nri_container;
typedef Nri__Pkg__Api__V1alpha1__ContainerAdjustment nri_adjustment;

/* An error message a handler returns; it becomes the ttrpc status message
 * the runtime shows (for CreateContainer: the container's failure reason). */
struct nri_error {
    char msg[512];
};

struct nri_handlers {
    void *ctx;
    /* Configure: the drop-in/config string (may be empty). A non-zero return
     * fails the registration: the plugin never runs on a bad configuration. */
    int (*configure)(void *ctx, const char *config, const char *runtime_name,
                     const char *runtime_version, struct nri_error *err);
    /* Synchronize: all pods and containers that exist, after a (re)connect.
     * Split requests are gathered by the stub and delivered once, complete. */
    int (*synchronize)(void *ctx, nri_pod *const *pods, size_t npods,
                       nri_container *const *containers, size_t ncontainers,
                       struct nri_error *err);
    /* CreateContainer: fill *adj (already initialised, empty). The handler
     * allocates what it adds with malloc; the stub frees it with
     * nri_adjustment_free(). Non-zero fails the container with err. */
    int (*create_container)(void *ctx, const nri_pod *pod,
                            const nri_container *ctr, nri_adjustment *adj,
                            struct nri_error *err);
    void (*remove_container)(void *ctx, const nri_pod *pod,
                             const nri_container *ctr);
    void (*remove_pod)(void *ctx, const nri_pod *pod);
    /* The runtime is shutting down or the connection is gone. */
    void (*disconnected)(void *ctx);
};

/* Frees everything a create_container handler added to an adjustment. */
void nri_adjustment_free(nri_adjustment *adj);

/* ---- Serving one runtime connection (plugin/stub.c) ---- */

struct nri_stub_options {
    const char *name; /* plugin name and two-digit index to register as */
    const char *idx;
    /* Configuration text used when the runtime's Configure string is empty
     * (external mode's --config FILE); NULL for none. */
    const char *fallback_config;
    const struct nri_handlers *handlers;
    /* Leaving the loop on a signal without a race: the caller blocks the stop
     * signals, its handler sets *stop, and the stub waits with ppoll() under
     * wait_sigmask (the mask with those signals unblocked). Both optional. */
    volatile sig_atomic_t *stop;
    const sigset_t *wait_sigmask;
    int registration_timeout_ms; /* 0: NRI's default, 5 s */
    /* How long the runtime may leave our replies unread, or a message of
     * its own half-sent, before the connection is closed. 0: 10 s. */
    int stall_timeout_ms;
};

enum nri_stub_result {
    NRI_STUB_STOPPED,         /* *stop was set */
    NRI_STUB_RUNTIME_GONE,    /* the runtime closed the connection */
    NRI_STUB_STREAM_ERROR,    /* broken stream, I/O error or timeout (logged) */
    NRI_STUB_REFUSED,         /* the runtime refused the registration */
    NRI_STUB_CONFIG_REJECTED, /* the configure handler rejected the config */
};

/* Registers over fd, a connected stream socket that the stub takes over and
 * closes, and serves the runtime until one of the results above. Calls
 * handlers->disconnected before returning. */
enum nri_stub_result nri_stub_serve(int fd, const struct nri_stub_options *opt);

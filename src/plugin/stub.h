/* The NRI plugin stub: registers with the runtime, serves the Plugin service
 * and calls the handlers below, in the spirit of the Go stub's interfaces.
 * It owns the transport (wire/); the handlers own the policy and effects.
 *
 * All handlers run on the stub's single thread, one request at a time, so
 * handlers need no locking. Messages are the protobuf-c types generated from
 * src/wire/nri.proto; the stub frees requests after the handler returns. */
#pragma once
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

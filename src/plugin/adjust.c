#include "plugin/adjust.h"

#include <stdlib.h>
#include <string.h>

int adjust_add_namespace(nri_adjustment *adj, const char *type, const char *path)
{
    if (!adj->linux) {
        Nri__Pkg__Api__V1alpha1__LinuxContainerAdjustment *l = malloc(sizeof(*l));
        if (!l)
            return -1;
        nri__pkg__api__v1alpha1__linux_container_adjustment__init(l);
        adj->linux = l;
    }
    Nri__Pkg__Api__V1alpha1__LinuxNamespace *ns = malloc(sizeof(*ns));
    if (!ns)
        return -1;
    nri__pkg__api__v1alpha1__linux_namespace__init(ns);
    ns->type = strdup(type);
    ns->path = strdup(path);
    Nri__Pkg__Api__V1alpha1__LinuxNamespace **grown = NULL;
    if (ns->type && ns->path)
        grown = realloc(adj->linux->namespaces,
                        (adj->linux->n_namespaces + 1) * sizeof(*grown));
    if (!grown) {
        nri__pkg__api__v1alpha1__linux_namespace__free_unpacked(ns, NULL);
        return -1;
    }
    grown[adj->linux->n_namespaces++] = ns;
    adj->linux->namespaces = grown;
    return 0;
}

int adjust_add_mount(nri_adjustment *adj, const char *destination, const char *type,
                     const char *source, const char *const *options, size_t noptions)
{
    Nri__Pkg__Api__V1alpha1__Mount *m = malloc(sizeof(*m));
    if (!m)
        return -1;
    nri__pkg__api__v1alpha1__mount__init(m);
    m->destination = strdup(destination);
    m->type = strdup(type);
    m->source = strdup(source);
    m->options = calloc(noptions ? noptions : 1, sizeof(*m->options));
    int ok = m->destination && m->type && m->source && m->options;
    for (size_t i = 0; ok && i < noptions; i++, m->n_options++)
        ok = (m->options[i] = strdup(options[i])) != NULL;
    Nri__Pkg__Api__V1alpha1__Mount **grown = NULL;
    if (ok)
        grown = realloc(adj->mounts, (adj->n_mounts + 1) * sizeof(*grown));
    if (!grown) {
        nri__pkg__api__v1alpha1__mount__free_unpacked(m, NULL);
        return -1;
    }
    grown[adj->n_mounts++] = m;
    adj->mounts = grown;
    return 0;
}

#include "audit/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void audit_fail(struct audit_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

void audit_wrap(struct audit_error *err, const char *fmt, ...)
{
    char inner[sizeof(err->msg)];
    memcpy(inner, err->msg, sizeof(inner));
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(err->msg))
        snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", inner);
}

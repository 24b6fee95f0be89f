/* A one-line reason for a wire error, filled where the error is detected so
 * the single log line that closes a connection says exactly what was wrong. */
#pragma once
#include <stddef.h>

struct wire_error {
    char msg[256];
};

void wire_fail(struct wire_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

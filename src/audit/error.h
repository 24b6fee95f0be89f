/* A one-line reason for an audit failure, filled where the problem is found
 * so the message the operator reads names the image, the file and the fault. */
#pragma once

struct audit_error {
    char msg[512];
};

void audit_fail(struct audit_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prepends "CONTEXT: " to an error already filled in. */
void audit_wrap(struct audit_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

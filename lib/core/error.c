#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_MAX = 2048 };
static _Thread_local char message[MESSAGE_MAX];

int es_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return code;
}

int es_error_wrap(int code, const char *fmt, ...)
{
    char previous[MESSAGE_MAX];
    memcpy(previous, message, sizeof previous);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof message)
        snprintf(message + n, sizeof message - (size_t)n, ": %s", previous);
    return code;
}

const char *es_error_message(void) { return message; }

void es_error_clear(void) { message[0] = '\0'; }

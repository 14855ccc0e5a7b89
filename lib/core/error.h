/* Error codes and messages for lib/.
 *
 * lib/ never prints and never exits: a failing function records a message
 * with es_error() and returns the code it was given. The caller (cmd/)
 * prints es_error_message(). The message is thread-local, so concurrent
 * trainings in one process do not overwrite each other's messages. */
#ifndef ES_CORE_ERROR_H
#define ES_CORE_ERROR_H

enum {
    ES_OK = 0,
    ES_EINVAL,    /* a bad argument or value (names the value) */
    ES_ECONFIG,   /* a config or experiment file error (names file:line and key) */
    ES_EIO,       /* reading or writing a file failed (names the path) */
    ES_EDATA,     /* malformed input data (names the file and offset) */
    ES_EMISSING,  /* a corpus, package or program is missing (names what to install) */
    ES_ENOMEM,    /* an allocation failed (names the size) */
    ES_EDIVERGED, /* a training run diverged (names the step) */
    ES_ESTATE,    /* an inconsistent state, e.g. a checkpoint of another config */
    ES_EFIT       /* a fit is impossible or degenerate (says why) */
};

/* Records a printf-style message and returns code, so that
 *   return es_error(ES_EIO, "cannot open %s: %s", path, strerror(errno));
 * is the usual way to fail. */
int es_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with "context: ", keeping the code. */
int es_error_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" if none). */
const char *es_error_message(void);

void es_error_clear(void);

#endif

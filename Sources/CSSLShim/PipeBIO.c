// A byte-pipe BIO for TLSSession, replacing OpenSSL's memory BIO on the bulk
// path: no memset on write, no cleanse on growth or free (it only ever holds
// ciphertext), readable bytes exposed by pointer (zero-copy take), input that
// can be lent for the length of one call (only the unread rest is copied), and
// storage the owner frees when it wants (idle), not on every drain.
// Single owner, no locking; storage is bounded only by what the owner writes.
#include "CSSLShim.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char *data;        // owned storage; readable bytes are [start, end)
    size_t capacity, start, end;
    const unsigned char *lent;  // borrowed bytes, read after the owned ones
    size_t lent_length;
    int end_of_input;           // reads past the data: 0 (EOF) instead of "retry"
} mg_pipe;

static mg_pipe *pipe_of(BIO *bio) { return (mg_pipe *)BIO_get_data(bio); }

static int pipe_reserve(mg_pipe *pipe, size_t extra) {
    if (pipe->start == pipe->end) pipe->start = pipe->end = 0;
    if (pipe->capacity - pipe->end >= extra) return 1;
    size_t readable = pipe->end - pipe->start;
    if (pipe->start > 0 && pipe->capacity - readable >= extra && pipe->start >= readable) {
        memmove(pipe->data, pipe->data + pipe->start, readable);  // cheaper than growing
        pipe->start = 0;
        pipe->end = readable;
        return 1;
    }
    if (extra > SIZE_MAX / 2 - readable) return 0;
    size_t wanted = readable + extra;
    size_t capacity = pipe->capacity < 4096 ? 4096 : pipe->capacity;
    while (capacity < wanted) capacity *= 2;
    unsigned char *fresh = malloc(capacity);
    if (fresh == NULL) return 0;
    if (readable > 0) memcpy(fresh, pipe->data + pipe->start, readable);
    free(pipe->data);
    pipe->data = fresh;
    pipe->capacity = capacity;
    pipe->start = 0;
    pipe->end = readable;
    return 1;
}

static int pipe_write(BIO *bio, const char *in, int length) {
    BIO_clear_retry_flags(bio);
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL || length < 0) return -1;
    if (length == 0) return 0;
    if (!pipe_reserve(pipe, (size_t)length)) return -1;
    memcpy(pipe->data + pipe->end, in, (size_t)length);
    pipe->end += (size_t)length;
    return length;
}

static int pipe_read(BIO *bio, char *out, int length) {
    BIO_clear_retry_flags(bio);
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL || out == NULL || length <= 0) return 0;
    size_t wanted = (size_t)length, got = 0;
    size_t owned = pipe->end - pipe->start;
    if (owned > 0) {
        size_t step = owned < wanted ? owned : wanted;
        memcpy(out, pipe->data + pipe->start, step);
        pipe->start += step;
        got += step;
        if (pipe->start == pipe->end) pipe->start = pipe->end = 0;
    }
    if (got < wanted && pipe->lent_length > 0) {
        size_t step = pipe->lent_length < wanted - got ? pipe->lent_length : wanted - got;
        memcpy(out + got, pipe->lent, step);
        pipe->lent += step;
        pipe->lent_length -= step;
        got += step;
    }
    if (got > 0) return (int)got;
    if (pipe->end_of_input) return 0;
    BIO_set_retry_read(bio);
    return -1;
}

static long pipe_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)number;
    (void)pointer;
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL) return 0;
    switch (command) {
    case BIO_CTRL_PENDING:
        return (long)(pipe->end - pipe->start + pipe->lent_length);
    case BIO_CTRL_WPENDING:
        return 0;
    case BIO_CTRL_EOF:
        return pipe->end_of_input && pipe->end == pipe->start && pipe->lent_length == 0;
    case BIO_CTRL_FLUSH:
        return 1;
    default:
        return 0;
    }
}

static int pipe_create(BIO *bio) {
    mg_pipe *pipe = calloc(1, sizeof(mg_pipe));
    if (pipe == NULL) return 0;
    BIO_set_data(bio, pipe);
    BIO_set_init(bio, 1);
    return 1;
}

static int pipe_destroy(BIO *bio) {
    mg_pipe *pipe = pipe_of(bio);
    if (pipe != NULL) {
        free(pipe->data);
        free(pipe);
    }
    BIO_set_data(bio, NULL);
    BIO_set_init(bio, 0);
    return 1;
}

static BIO_METHOD *pipe_method = NULL;
static CRYPTO_ONCE pipe_method_once = CRYPTO_ONCE_STATIC_INIT;

static void pipe_method_init(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mailgate pipe");
    if (method == NULL) return;
    if (!BIO_meth_set_write(method, pipe_write) || !BIO_meth_set_read(method, pipe_read)
        || !BIO_meth_set_ctrl(method, pipe_ctrl) || !BIO_meth_set_create(method, pipe_create)
        || !BIO_meth_set_destroy(method, pipe_destroy)) {
        BIO_meth_free(method);
        return;
    }
    pipe_method = method;  // lives as long as the process
}

BIO *mg_pipe_bio_new(void) {
    if (!CRYPTO_THREAD_run_once(&pipe_method_once, pipe_method_init) || pipe_method == NULL) return NULL;
    return BIO_new(pipe_method);
}

void mg_pipe_bio_set_end_of_input(BIO *bio) {
    mg_pipe *pipe = pipe_of(bio);
    if (pipe != NULL) pipe->end_of_input = 1;
}

void mg_pipe_bio_lend(BIO *bio, const void *bytes, size_t length) {
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL) return;
    pipe->lent = bytes;
    pipe->lent_length = bytes == NULL ? 0 : length;
}

int mg_pipe_bio_keep_lent(BIO *bio) {
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL) return 0;
    int kept = 1;
    if (pipe->lent_length > 0) {
        kept = pipe_reserve(pipe, pipe->lent_length);
        if (kept) {
            memcpy(pipe->data + pipe->end, pipe->lent, pipe->lent_length);
            pipe->end += pipe->lent_length;
        }
    }
    pipe->lent = NULL;
    pipe->lent_length = 0;
    return kept;
}

size_t mg_pipe_bio_readable(BIO *bio, const unsigned char **bytes) {
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL || pipe->end == pipe->start) {
        *bytes = NULL;
        return 0;
    }
    *bytes = pipe->data + pipe->start;
    return pipe->end - pipe->start;
}

void mg_pipe_bio_consume(BIO *bio, size_t count) {
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL) return;
    size_t readable = pipe->end - pipe->start;
    pipe->start += count < readable ? count : readable;
    if (pipe->start == pipe->end) pipe->start = pipe->end = 0;
}

size_t mg_pipe_bio_capacity(BIO *bio) {
    mg_pipe *pipe = pipe_of(bio);
    return pipe == NULL ? 0 : pipe->capacity;
}

void mg_pipe_bio_release_if_empty(BIO *bio, size_t keep) {
    mg_pipe *pipe = pipe_of(bio);
    if (pipe == NULL || pipe->end != pipe->start || pipe->capacity <= keep) return;
    free(pipe->data);
    pipe->data = NULL;
    pipe->capacity = pipe->start = pipe->end = 0;
}

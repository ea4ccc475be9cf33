#include "CSSLShim.h"

int mg_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
long mg_ssl_ctx_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
long mg_ssl_set_mode(SSL *ssl, long mode) { return SSL_set_mode(ssl, mode); }
int mg_ssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
long mg_bio_pending(BIO *bio) { return (long)BIO_pending(bio); }
long mg_bio_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }
long mg_ssl_ctx_set_options(SSL_CTX *ctx, unsigned long options) {
    return (long)SSL_CTX_set_options(ctx, options);
}

// Added for the TLS module (memory BIOs, client limits, session cache).
int mg_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
long mg_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
long mg_bio_set_mem_eof_return(BIO *bio, int value) { return BIO_set_mem_eof_return(bio, value); }
long mg_ssl_clear_mode(SSL *ssl, long mode) { return SSL_clear_mode(ssl, mode); }
size_t mg_bio_mem_capacity(BIO *bio) {
    BUF_MEM *mem = NULL;
    if (BIO_get_mem_ptr(bio, &mem) <= 0 || mem == NULL) return 0;
    return mem->max;
}

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

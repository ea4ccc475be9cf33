// OpenSSL 3 function-like macros and SSL_OP_* constants, as plain functions
// Swift can call. Nothing here holds policy.
#ifndef CSSLSHIM_H
#define CSSLSHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

int mg_ssl_ctx_set_min_proto_version(SSL_CTX *ctx, int version);
long mg_ssl_ctx_set_mode(SSL_CTX *ctx, long mode);
long mg_ssl_set_mode(SSL *ssl, long mode);
int mg_ssl_set_tlsext_host_name(SSL *ssl, const char *name);
long mg_bio_pending(BIO *bio);
long mg_bio_get_mem_data(BIO *bio, char **data);
long mg_ssl_ctx_set_options(SSL_CTX *ctx, unsigned long options);
// Added for the TLS module.
int mg_ssl_ctx_set_max_proto_version(SSL_CTX *ctx, int version);
long mg_ssl_ctx_set_session_cache_mode(SSL_CTX *ctx, long mode);
long mg_bio_set_mem_eof_return(BIO *bio, int value);
/// Bytes allocated by a memory BIO's buffer (not the bytes pending in it).
size_t mg_bio_mem_capacity(BIO *bio);

static const int MG_TLS1_1_VERSION = TLS1_1_VERSION;
static const int MG_TLS1_3_VERSION = TLS1_3_VERSION;
static const long MG_SSL_SESS_CACHE_OFF = SSL_SESS_CACHE_OFF;
static const unsigned long MG_XN_FLAG_RFC2253 = XN_FLAG_RFC2253;
static const int MG_TLS1_2_VERSION = TLS1_2_VERSION;
static const unsigned long MG_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const unsigned long MG_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const unsigned long MG_SSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const unsigned long MG_SSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;

#endif

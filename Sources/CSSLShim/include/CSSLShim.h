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
long mg_ssl_clear_mode(SSL *ssl, long mode);
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

// A byte-pipe BIO (PipeBIO.c): growable storage without memset or cleanse,
// lent input, readable bytes by pointer, storage freed only on request.
BIO *mg_pipe_bio_new(void);
/// Reads past the data return 0 (end of stream) instead of "retry later".
void mg_pipe_bio_set_end_of_input(BIO *bio);
/// Bytes read after the owned ones, valid until mg_pipe_bio_keep_lent.
void mg_pipe_bio_lend(BIO *bio, const void *bytes, size_t length);
/// Copies the unread lent bytes into owned storage and forgets the loan; 0 if out of memory.
int mg_pipe_bio_keep_lent(BIO *bio);
/// The owned readable bytes (NULL and 0 when none).
size_t mg_pipe_bio_readable(BIO *bio, const unsigned char **bytes);
void mg_pipe_bio_consume(BIO *bio, size_t count);
size_t mg_pipe_bio_capacity(BIO *bio);
/// Frees the storage when nothing is readable and it is larger than `keep` bytes.
void mg_pipe_bio_release_if_empty(BIO *bio, size_t keep);

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

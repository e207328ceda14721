// OpenSSL for Swift: the public headers, plus thin wrappers for what Swift cannot import
// (function-like macros, callbacks, a BIO method). Everything else is called from Swift directly.
#ifndef CHORUS_COPENSSL_H
#define CHORUS_COPENSSL_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stddef.h>
#include <stdint.h>

/// DTLSv1_get_timeout (a macro): 1 and the time left when a retransmission timer runs, else 0.
int chorus_dtls_get_timeout(SSL *ssl, long *seconds, long *microseconds);
/// DTLSv1_handle_timeout (a macro): retransmits the last flight when its timer expired.
int chorus_dtls_handle_timeout(SSL *ssl);
/// Retransmission timer of 100 ms doubling to 3 s instead of OpenSSL's 1 s start (RFC 6347
/// §4.2.4.1 allows shorter; libwebrtc uses 50 ms): a lost flight on a call setup costs less.
void chorus_dtls_use_short_timer(SSL *ssl);
/// SSL_set_mtu + SSL_OP_NO_QUERY_MTU: DTLS records sized for the path, not asked of the BIO.
void chorus_ssl_set_mtu(SSL *ssl, long mtu);
/// Peer certificates are self-signed in WebRTC: accept any at the TLS layer; the caller
/// checks the certificate's fingerprint against the one in the SDP after the handshake.
void chorus_ssl_ctx_accept_any_peer_certificate(SSL_CTX *ctx);
/// SSL_CTX_set_read_ahead (a macro); DTLS over memory BIOs needs whole records per read.
void chorus_ssl_ctx_set_read_ahead(SSL_CTX *ctx);
/// BIO_set_mem_eof_return (a macro): an empty memory BIO means "retry", not end of file.
void chorus_bio_set_mem_eof_return_retry(BIO *bio);

/// A fresh ECDSA P-256 key and a self-signed certificate for it (valid from a day ago for
/// `days` days, CN=chorus). Returns 1 on success; the caller owns both objects.
int chorus_generate_self_signed(int days, EVP_PKEY **key_out, X509 **cert_out);

/// A write-only BIO that keeps each write as its own datagram: OpenSSL writes one DTLS
/// datagram per BIO_write, and a memory BIO would glue them together.
BIO *chorus_datagram_bio_new(void);
/// Moves the oldest queued datagram into `out` and returns its length; 0 when none is queued,
/// -1 when `capacity` is too small (the datagram stays queued).
int chorus_datagram_bio_pop(BIO *bio, uint8_t *out, size_t capacity);
/// The number of queued datagrams.
int chorus_datagram_bio_count(BIO *bio);

/// HMAC-SHA1 with the key already absorbed: the SHA-1 states after the inner and outer padded
/// key blocks (RFC 2104 §4). SRTP's per-packet HMAC copies these two plain structs, because
/// OpenSSL 3.0's HMAC_Init_ex/EVP_MAC/EVP_MD_CTX_copy duplicate provider contexts (a malloc per
/// packet). The SHA1_* functions this needs are deprecated in 3.0 but still exported; they are
/// called only in shim.c, with the deprecation warning silenced there.
typedef struct {
    SHA_CTX inner;
    SHA_CTX outer;
} chorus_hmac_sha1_key;
/// Absorbs `secret` into both states (a key longer than 64 bytes is hashed first, RFC 2104).
void chorus_hmac_sha1_key_init(chorus_hmac_sha1_key *key, const uint8_t *secret, size_t length);
/// HMAC-SHA1 of `data` followed by `suffix` (SRTP appends the ROC) into `out` (20 bytes).
void chorus_hmac_sha1(const chorus_hmac_sha1_key *key, const uint8_t *data, size_t length,
                      const uint8_t *suffix, size_t suffix_length, uint8_t *out);

#endif

// Wrappers for OpenSSL macros and callbacks; see COpenSSL.h for why each exists.
#include "COpenSSL.h"
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

int chorus_dtls_get_timeout(SSL *ssl, long *seconds, long *microseconds) {
    struct timeval tv = {0, 0};
    int running = (int)DTLSv1_get_timeout(ssl, &tv);
    *seconds = (long)tv.tv_sec;
    *microseconds = (long)tv.tv_usec;
    return running;
}

int chorus_dtls_handle_timeout(SSL *ssl) { return (int)DTLSv1_handle_timeout(ssl); }

static unsigned int short_timer(SSL *ssl, unsigned int previous_us) {
    (void)ssl;
    if (previous_us == 0) return 100000;
    unsigned int next = previous_us * 2;
    return next > 3000000 ? 3000000 : next;
}

void chorus_dtls_use_short_timer(SSL *ssl) { DTLS_set_timer_cb(ssl, short_timer); }

void chorus_ssl_set_mtu(SSL *ssl, long mtu) {
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    SSL_set_mtu(ssl, mtu);
    DTLS_set_link_mtu(ssl, mtu);
}

static int accept_any(int preverify_ok, X509_STORE_CTX *ctx) {
    (void)preverify_ok;
    (void)ctx;
    return 1;
}

void chorus_ssl_ctx_accept_any_peer_certificate(SSL_CTX *ctx) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
}

void chorus_ssl_ctx_set_read_ahead(SSL_CTX *ctx) { SSL_CTX_set_read_ahead(ctx, 1); }

void chorus_bio_set_mem_eof_return_retry(BIO *bio) { BIO_set_mem_eof_return(bio, -1); }

int chorus_generate_self_signed(int days, EVP_PKEY **key_out, X509 **cert_out) {
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) return 0;
    X509 *cert = X509_new();
    if (cert == NULL) { EVP_PKEY_free(key); return 0; }
    uint64_t serial = 0;
    RAND_bytes((unsigned char *)&serial, sizeof serial);
    serial &= 0x7fffffffffffffffULL;
    int ok = X509_set_version(cert, 2)
        && ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), serial)
        && X509_gmtime_adj(X509_getm_notBefore(cert), -86400L) != NULL
        && X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400L) != NULL
        && X509_set_pubkey(cert, key);
    if (ok) {
        X509_NAME *name = X509_get_subject_name(cert);
        ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"chorus", -1, -1, 0)
            && X509_set_issuer_name(cert, name)
            && X509_sign(cert, key, EVP_sha256()) > 0;
    }
    if (!ok) { X509_free(cert); EVP_PKEY_free(key); return 0; }
    *key_out = key;
    *cert_out = cert;
    return 1;
}

// ---- datagram-preserving write BIO -------------------------------------------------------

enum { QUEUE_CAPACITY = 64 };

typedef struct {
    uint8_t *data[QUEUE_CAPACITY];
    int length[QUEUE_CAPACITY];
    int head;
    int count;
} datagram_queue;

static int dgram_write(BIO *bio, const char *buf, int len) {
    datagram_queue *q = (datagram_queue *)BIO_get_data(bio);
    if (q == NULL || len < 0) return -1;
    if (q->count == QUEUE_CAPACITY) return -1;  // a flight never has this many records
    uint8_t *copy = malloc(len > 0 ? (size_t)len : 1);
    if (copy == NULL) return -1;
    memcpy(copy, buf, (size_t)len);
    int slot = (q->head + q->count) % QUEUE_CAPACITY;
    q->data[slot] = copy;
    q->length[slot] = len;
    q->count++;
    return len;
}

static long dgram_ctrl(BIO *bio, int cmd, long num, void *ptr) {
    (void)bio; (void)num; (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return 1200;
    default: return 0;
    }
}

static int dgram_create(BIO *bio) {
    datagram_queue *q = calloc(1, sizeof(datagram_queue));
    if (q == NULL) return 0;
    BIO_set_data(bio, q);
    BIO_set_init(bio, 1);
    return 1;
}

static int dgram_destroy(BIO *bio) {
    datagram_queue *q = (datagram_queue *)BIO_get_data(bio);
    if (q != NULL) {
        for (int i = 0; i < q->count; i++) free(q->data[(q->head + i) % QUEUE_CAPACITY]);
        free(q);
    }
    BIO_set_data(bio, NULL);
    return 1;
}

static BIO_METHOD *dgram_method_table = NULL;
static pthread_once_t dgram_method_once = PTHREAD_ONCE_INIT;

static void dgram_method_init(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "chorus datagram");
    BIO_meth_set_write(m, dgram_write);
    BIO_meth_set_ctrl(m, dgram_ctrl);
    BIO_meth_set_create(m, dgram_create);
    BIO_meth_set_destroy(m, dgram_destroy);
    dgram_method_table = m;
}

// Created once per process (workers may race to the first handshake); never freed.
static BIO_METHOD *dgram_method(void) {
    pthread_once(&dgram_method_once, dgram_method_init);
    return dgram_method_table;
}

BIO *chorus_datagram_bio_new(void) { return BIO_new(dgram_method()); }

int chorus_datagram_bio_pop(BIO *bio, uint8_t *out, size_t capacity) {
    datagram_queue *q = (datagram_queue *)BIO_get_data(bio);
    if (q == NULL || q->count == 0) return 0;
    int len = q->length[q->head];
    if ((size_t)len > capacity) return -1;
    memcpy(out, q->data[q->head], (size_t)len);
    free(q->data[q->head]);
    q->head = (q->head + 1) % QUEUE_CAPACITY;
    q->count--;
    return len;
}

int chorus_datagram_bio_count(BIO *bio) {
    datagram_queue *q = (datagram_queue *)BIO_get_data(bio);
    return q == NULL ? 0 : q->count;
}

// ---- HMAC-SHA1 with precomputed pads (SRTP) ---------------------------------------------

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void chorus_hmac_sha1_key_init(chorus_hmac_sha1_key *key, const uint8_t *secret, size_t length) {
    uint8_t pad[SHA_CBLOCK];
    uint8_t hashed[SHA_DIGEST_LENGTH];
    if (length > SHA_CBLOCK) {
        // RFC 2104 §2: a key longer than the block is replaced by its hash (long ICE passwords,
        // TURN secrets; SRTP's 20-byte keys never take this path).
        SHA1(secret, length, hashed);
        secret = hashed;
        length = sizeof hashed;
    }
    memset(pad, 0x36, sizeof pad);
    for (size_t i = 0; i < length; i++) pad[i] ^= secret[i];
    SHA1_Init(&key->inner);
    SHA1_Update(&key->inner, pad, sizeof pad);
    memset(pad, 0x5c, sizeof pad);
    for (size_t i = 0; i < length; i++) pad[i] ^= secret[i];
    SHA1_Init(&key->outer);
    SHA1_Update(&key->outer, pad, sizeof pad);
    OPENSSL_cleanse(pad, sizeof pad);
}

void chorus_hmac_sha1(const chorus_hmac_sha1_key *key, const uint8_t *data, size_t length,
                      const uint8_t *suffix, size_t suffix_length, uint8_t *out) {
    SHA_CTX ctx = key->inner;
    uint8_t inner[SHA_DIGEST_LENGTH];
    SHA1_Update(&ctx, data, length);
    if (suffix_length > 0) SHA1_Update(&ctx, suffix, suffix_length);
    SHA1_Final(inner, &ctx);
    ctx = key->outer;
    SHA1_Update(&ctx, inner, sizeof inner);
    SHA1_Final(out, &ctx);
}

#pragma GCC diagnostic pop

// An OpenSSL SSL_CTX configured for WebRTC: DTLS 1.2, our certificate, peer certificate
// required (checked by fingerprint, not by a CA), and the use_srtp extension (RFC 5764).

import COpenSSL
import RTP

public final class DTLSContext: @unchecked Sendable {
    /// `SSL_CTX*`: OpenSSL allows using one context from several threads once configured.
    let context: OpaquePointer
    public let certificate: DTLSCertificate
    public let profiles: [SRTPProfile]

    /// `profiles` in preference order: GCM first costs less per packet (about half of CM's with OpenSSL, Benchmarks/README.md), CM is the
    /// profile every WebRTC peer has.
    public init(
        certificate: DTLSCertificate,
        profiles: [SRTPProfile] = [.aeadAes128Gcm, .aes128CmHmacSha1_80]
    ) throws(DTLSError) {
        guard let context = SSL_CTX_new(DTLS_method()) else {
            throw .openSSL(openSSLErrorDescription("SSL_CTX_new failed"))
        }
        self.context = context
        self.certificate = certificate
        self.profiles = profiles
        guard SSL_CTX_use_certificate(context, certificate.certificate) == 1,
            SSL_CTX_use_PrivateKey(context, certificate.key) == 1,
            SSL_CTX_check_private_key(context) == 1
        else { throw .openSSL(openSSLErrorDescription("certificate rejected")) }
        // SSL_CTX_set_tlsext_use_srtp returns 0 on success (unlike most of OpenSSL).
        let names = profiles.map(\.openSSLName).joined(separator: ":")
        guard SSL_CTX_set_tlsext_use_srtp(context, names) == 0 else {
            throw .openSSL(openSSLErrorDescription("use_srtp rejected"))
        }
        guard SSL_CTX_set_cipher_list(context, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA") == 1 else {
            throw .openSSL(openSSLErrorDescription("cipher list rejected"))
        }
        chorus_ssl_ctx_accept_any_peer_certificate(context)
        chorus_ssl_ctx_set_read_ahead(context)
    }

    deinit { SSL_CTX_free(context) }
}

// The SFU's DTLS identity: a self-signed ECDSA P-256 certificate made at start (WebRTC peers
// authenticate it by the SHA-256 fingerprint in the SDP, RFC 8122 / RFC 8827 §6.5).

import COpenSSL

/// A certificate fingerprint as carried in `a=fingerprint` (RFC 8122 §5).
public struct DTLSFingerprint: Sendable, Equatable, Hashable {
    /// Lower-case hash name as in SDP: "sha-256", "sha-384", "sha-512", "sha-1".
    public var algorithm: String
    public var bytes: [UInt8]

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm.lowercased()
        self.bytes = bytes
    }

    /// Parses "AB:CD:..." hex; nil when malformed.
    public init?(algorithm: String, hex: String) {
        var bytes: [UInt8] = []
        for part in hex.split(separator: ":") {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        guard !bytes.isEmpty else { return nil }
        self.init(algorithm: algorithm, bytes: bytes)
    }

    /// Upper-case colon-separated hex, the form browsers print.
    public var hex: String {
        bytes.map { byte in
            let digits = Array("0123456789ABCDEF")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined(separator: ":")
    }

    /// OpenSSL's digest for an SDP hash name, nil for names we do not accept.
    var digest: OpaquePointer? {
        switch algorithm {
        case "sha-1": EVP_sha1()
        case "sha-224": EVP_sha224()
        case "sha-256": EVP_sha256()
        case "sha-384": EVP_sha384()
        case "sha-512": EVP_sha512()
        default: nil
        }
    }

    /// The fingerprint of `certificate` (an `X509*`) with the same algorithm as `self`.
    static func of(certificate: OpaquePointer, algorithm: String) -> DTLSFingerprint? {
        let probe = DTLSFingerprint(algorithm: algorithm, bytes: [])
        guard let digest = probe.digest else { return nil }
        var md = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, digest, &md, &length) == 1 else { return nil }
        return DTLSFingerprint(algorithm: algorithm, bytes: Array(md[0..<Int(length)]))
    }
}

public enum DTLSError: Error, Equatable, Sendable {
    case openSSL(String)
}

/// Reads and clears OpenSSL's error queue into one line for logs and errors.
func openSSLErrorDescription(_ fallback: String) -> String {
    var parts: [String] = []
    while case let code = ERR_get_error(), code != 0 {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return parts.isEmpty ? fallback : parts.joined(separator: "; ")
}

public final class DTLSCertificate: @unchecked Sendable {
    /// `EVP_PKEY*` and `X509*`; immutable after init, so sharing across workers is safe.
    let key: OpaquePointer
    let certificate: OpaquePointer
    public let fingerprint: DTLSFingerprint

    /// Generates a fresh key and a certificate valid for `days` days.
    public init(days: Int = 30) throws(DTLSError) {
        var key: OpaquePointer?
        var certificate: OpaquePointer?
        guard chorus_generate_self_signed(Int32(days), &key, &certificate) == 1, let key, let certificate else {
            throw .openSSL(openSSLErrorDescription("certificate generation failed"))
        }
        guard let fingerprint = DTLSFingerprint.of(certificate: certificate, algorithm: "sha-256") else {
            X509_free(certificate)
            EVP_PKEY_free(key)
            throw .openSSL(openSSLErrorDescription("fingerprint failed"))
        }
        self.key = key
        self.certificate = certificate
        self.fingerprint = fingerprint
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }
}

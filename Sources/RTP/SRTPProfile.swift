// The SRTP protection profiles Chorus negotiates in DTLS (RFC 5764 §4.1.2, RFC 7714 §14.2),
// with the key sizes that the exported keying material is split into.

public enum SRTPProfile: Sendable, Hashable, CustomStringConvertible {
    /// AES-128 counter mode with an 80-bit HMAC-SHA1 tag: the profile every peer supports.
    case aes128CmHmacSha1_80
    /// AES-128-GCM with a 16-byte tag: cheaper per packet, negotiated first when offered.
    case aeadAes128Gcm

    /// The DTLS-SRTP profile identifier (IANA "DTLS-SRTP Protection Profiles").
    public init?(dtlsProfileID: UInt) {
        switch dtlsProfileID {
        case 0x0001: self = .aes128CmHmacSha1_80
        case 0x0007: self = .aeadAes128Gcm
        default: return nil
        }
    }

    /// The name OpenSSL's `SSL_CTX_set_tlsext_use_srtp` takes.
    public var openSSLName: String {
        switch self {
        case .aes128CmHmacSha1_80: "SRTP_AES128_CM_SHA1_80"
        case .aeadAes128Gcm: "SRTP_AEAD_AES_128_GCM"
        }
    }

    public var keyLength: Int { 16 }

    public var saltLength: Int {
        switch self {
        case .aes128CmHmacSha1_80: 14
        case .aeadAes128Gcm: 12
        }
    }

    /// Bytes that protecting an RTP packet appends (the authentication tag).
    public var rtpOverhead: Int {
        switch self {
        case .aes128CmHmacSha1_80: 10
        case .aeadAes128Gcm: 16
        }
    }

    /// Bytes that protecting an RTCP packet appends (tag plus the 4-byte SRTCP index).
    public var rtcpOverhead: Int { rtpOverhead + 4 }

    public var description: String { openSSLName }
}

/// One direction's master key and salt, as split from the DTLS exporter output (RFC 5764 §4.2).
public struct SRTPMasterKey: Sendable, Equatable {
    public var key: [UInt8]
    public var salt: [UInt8]

    public init(key: [UInt8], salt: [UInt8]) {
        self.key = key
        self.salt = salt
    }

    /// Splits `EXTRACTOR-dtls_srtp` output: client key, server key, client salt, server salt.
    public static func split(
        exported material: [UInt8], profile: SRTPProfile
    ) -> (client: SRTPMasterKey, server: SRTPMasterKey)? {
        let k = profile.keyLength
        let s = profile.saltLength
        guard material.count == 2 * (k + s) else { return nil }
        let client = SRTPMasterKey(
            key: Array(material[0..<k]), salt: Array(material[(2 * k)..<(2 * k + s)]))
        let server = SRTPMasterKey(
            key: Array(material[k..<(2 * k)]), salt: Array(material[(2 * k + s)..<(2 * k + 2 * s)]))
        return (client, server)
    }
}

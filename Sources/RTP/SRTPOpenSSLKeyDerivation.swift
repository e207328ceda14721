// SRTP session keys from a master key and salt: the AES-CM PRF of RFC 3711 §4.3 with a key
// derivation rate of 0 (DTLS-SRTP never re-keys that way), which RFC 7714 §11 reuses for GCM.

/// The session keys of one packet type (RTP or SRTCP) of one direction.
struct SRTPSessionKeys: Equatable {
    /// The AES-128 key.
    var encryptionKey: [UInt8]
    /// The HMAC-SHA1 key (160 bits, RFC 3711 §4.2.1); empty for AEAD_AES_128_GCM.
    var authenticationKey: [UInt8]
    /// 14 bytes for AES-CM, 12 for GCM.
    var salt: [UInt8]

    init(profile: SRTPProfile, masterKey: SRTPMasterKey, rtcp: Bool) throws(SRTPError) {
        let labels: SRTPKeyDerivation.Labels = rtcp ? .rtcp : .rtp
        encryptionKey = try SRTPKeyDerivation.derive(
            label: labels.encryption, length: profile.keyLength, masterKey: masterKey)
        authenticationKey =
            profile == .aes128CmHmacSha1_80
            ? try SRTPKeyDerivation.derive(label: labels.authentication, length: HMACSHA1.length, masterKey: masterKey)
            : []
        salt = try SRTPKeyDerivation.derive(label: labels.salt, length: profile.saltLength, masterKey: masterKey)
    }
}

enum SRTPKeyDerivation {
    /// The labels of RFC 3711 §4.3.1 (RTP: 0x00–0x02) and §4.3.2 (SRTCP: 0x03–0x05).
    struct Labels {
        var encryption: UInt8
        var authentication: UInt8
        var salt: UInt8

        static let rtp = Labels(encryption: 0x00, authentication: 0x01, salt: 0x02)
        static let rtcp = Labels(encryption: 0x03, authentication: 0x04, salt: 0x05)
    }

    /// `length` bytes of PRF output for `label` (RFC 3711 §4.3.1, §4.3.3): AES-CM keystream under
    /// the master key from counter block x·2^16, where x = (label || r) XOR master salt and
    /// r = index DIV kdr = 0, so the label lands in byte 7 of the 14-byte salt. GCM's 12-byte
    /// master salt is zero-padded on the right to the 112 bits this PRF takes (RFC 7714 §11; so
    /// does libsrtp).
    static func derive(label: UInt8, length: Int, masterKey: SRTPMasterKey) throws(SRTPError) -> [UInt8] {
        let prf = try AESCounterMode(key: masterKey.key)
        defer { prf.free() }
        var counterBlock = [UInt8](repeating: 0, count: 16)
        for (i, byte) in masterKey.salt.prefix(14).enumerated() { counterBlock[i] = byte }
        counterBlock[7] ^= label
        var output = [UInt8](repeating: 0, count: length)
        let ok = output.withUnsafeMutableBytes { out in
            counterBlock.withUnsafeBufferPointer { prf.apply(iv: $0.baseAddress!, to: out.baseAddress!, count: length) }
        }
        guard ok else { throw .openSSL() }
        return output
    }
}

// The few OpenSSL primitives ICE needs: HMAC-SHA1 (MESSAGE-INTEGRITY, TURN REST passwords),
// a constant-time comparison, and cryptographically secure random bytes.
import COpenSSL

enum HMACSHA1 {
    static let length = 20

    /// HMAC-SHA1(key, data) into `out` (at least 20 bytes). Through the shim's plain SHA-1
    /// states rather than OpenSSL 3's one-shot `HMAC()`, which allocates provider contexts on
    /// every call (13 mallocs per STUN check, measured); this allocates nothing.
    static func authenticate(
        key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(out.count >= length)
        var state = chorus_hmac_sha1_key()
        var empty: UInt8 = 0
        withUnsafeMutablePointer(to: &empty) { emptyPointer in
            let keyPointer = (key.baseAddress ?? UnsafeRawPointer(emptyPointer)).assumingMemoryBound(to: UInt8.self)
            let dataPointer = (data.baseAddress ?? UnsafeRawPointer(emptyPointer)).assumingMemoryBound(to: UInt8.self)
            chorus_hmac_sha1_key_init(&state, keyPointer, key.count)
            chorus_hmac_sha1(&state, dataPointer, data.count, nil, 0, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    static func authenticate(key: [UInt8], data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        key.withUnsafeBytes { key in
            data.withUnsafeBytes { data in
                out.withUnsafeMutableBytes { out in authenticate(key: key, data: data, into: out) }
            }
        }
        return out
    }
}

/// Compares in time independent of where the first difference is, so that a forged
/// MESSAGE-INTEGRITY cannot be found byte by byte from response timing.
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<a.count {
        difference |= a[index] ^ b[index]
    }
    return difference == 0
}

/// Bytes from OpenSSL's CSPRNG. A failing CSPRNG leaves nothing safe to do (credentials and
/// transaction IDs would be guessable), so it stops the process.
func secureRandomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    guard count > 0 else { return bytes }
    let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
    precondition(ok == 1, "RAND_bytes failed: OpenSSL's random generator is not seeded")
    return bytes
}

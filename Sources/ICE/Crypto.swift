// The few OpenSSL primitives ICE needs: HMAC-SHA1 (MESSAGE-INTEGRITY, TURN REST passwords),
// a constant-time comparison, and cryptographically secure random bytes.
import COpenSSL

enum HMACSHA1 {
    static let length = 20

    /// HMAC-SHA1(key, data) into `out` (at least 20 bytes).
    static func authenticate(
        key: UnsafeRawBufferPointer, data: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(out.count >= length)
        // OpenSSL wants non-null pointers even for empty inputs.
        var empty: UInt8 = 0
        withUnsafeMutablePointer(to: &empty) { emptyPointer in
            let keyPointer = UnsafeRawPointer(key.baseAddress ?? UnsafeRawPointer(emptyPointer))
            let dataPointer = (data.baseAddress ?? UnsafeRawPointer(emptyPointer))
                .assumingMemoryBound(to: UInt8.self)
            var written: UInt32 = 0
            let result = HMAC(
                EVP_sha1(), keyPointer, Int32(key.count), dataPointer, data.count,
                out.baseAddress!.assumingMemoryBound(to: UInt8.self), &written)
            precondition(result != nil && written == UInt32(length), "HMAC-SHA1 failed in OpenSSL")
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

// The 96-bit transaction ID that pairs a STUN response with its request (RFC 8489 §6).
// Stored as three words so that it is Hashable and allocation-free.

public struct STUNTransactionID: Hashable, Sendable, CustomStringConvertible {
    // Big-endian words of bytes 0..<4, 4..<8, 8..<12.
    var word0: UInt32
    var word1: UInt32
    var word2: UInt32

    /// Exactly 12 bytes.
    public init(bytes: [UInt8]) {
        precondition(bytes.count == 12, "a STUN transaction ID has 12 bytes, not \(bytes.count)")
        self = bytes.withUnsafeBytes { STUNTransactionID(reading: $0, at: 0) }
    }

    /// Reads 12 bytes at `offset`; the caller has checked the bounds.
    init(reading bytes: UnsafeRawBufferPointer, at offset: Int) {
        word0 = bytes.readUInt32(at: offset)
        word1 = bytes.readUInt32(at: offset + 4)
        word2 = bytes.readUInt32(at: offset + 8)
    }

    /// §6: "MUST be uniformly and randomly chosen ... cryptographically random", so that an
    /// off-path attacker cannot forge a response.
    public static func random() -> STUNTransactionID {
        STUNTransactionID(bytes: secureRandomBytes(12))
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(12)
        out.appendBigEndian(word0)
        out.appendBigEndian(word1)
        out.appendBigEndian(word2)
        return out
    }

    public var description: String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

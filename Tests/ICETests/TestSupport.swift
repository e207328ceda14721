// Helpers shared by the ICE tests: hex literals, parsing arrays, a seeded random generator.
@testable import ICE

/// "0001 0058 2112a442" → bytes; spaces and newlines are ignored.
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace }.map { Character($0) }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

func parse(_ bytes: [UInt8]) throws(STUNError) -> STUNMessage {
    // Array.withUnsafeBytes rethrows untyped errors; carry the typed one out in a Result.
    let result = bytes.withUnsafeBytes { raw in
        Result { () throws(STUNError) -> STUNMessage in try STUNMessage(parsing: raw) }
    }
    return try result.get()
}

func verify(_ bytes: [UInt8], password: String) -> Bool {
    bytes.withUnsafeBytes { STUNMessage.verifyMessageIntegrity($0, key: Array(password.utf8)) }
}

func looksLikeSTUN(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { STUNMessage.looksLikeSTUN($0) }
}

func peekUsername(_ bytes: [UInt8]) -> String? {
    bytes.withUnsafeBytes { STUNMessage.peekUsername($0) }
}

/// Rewrites the header's length field (to build lying or adjusted messages).
func withLength(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
    var copy = bytes
    copy[2] = UInt8(length >> 8 & 0xFF)
    copy[3] = UInt8(length & 0xFF)
    return copy
}


/// RFC 5769 test vectors (§2.1-2.3); all use this password for MESSAGE-INTEGRITY.
enum RFC5769 {
    static let password = "VOkJxbRl1RmTxUk/WvJxBt"
    static let transactionID = hex("b7e7a701 bc34d686 fa87dfae")

    /// §2.1 Sample Request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME "evtj:h6vY",
    /// MESSAGE-INTEGRITY, FINGERPRINT. Padding bytes are spaces on purpose.
    static let request = hex("""
        00010058 2112a442 b7e7a701 bc34d686 fa87dfae
        80220010 5354554e 20746573 7420636c 69656e74
        00240004 6e0001ff
        80290008 932ff9b1 51263b36
        00060009 6576746a 3a683676 59202020
        00080014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
        80280004 e57a3bcf
        """)

    /// §2.2 Sample IPv4 Response: SOFTWARE "test vector", XOR-MAPPED-ADDRESS 192.0.2.1:32853.
    static let ipv4Response = hex("""
        0101003c 2112a442 b7e7a701 bc34d686 fa87dfae
        8022000b 74657374 20766563 746f7220
        00200008 0001a147 e112a643
        00080014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
        80280004 c07d4c96
        """)

    /// §2.3 Sample IPv6 Response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
    static let ipv6Response = hex("""
        01010048 2112a442 b7e7a701 bc34d686 fa87dfae
        8022000b 74657374 20766563 746f7220
        00200014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
        00080014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
        80280004 c8fb0b4c
        """)

    static let all = [request, ipv4Response, ipv6Response]
}

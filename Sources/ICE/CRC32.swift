// CRC-32 (ISO-HDLC, the zlib/Ethernet one) for the STUN FINGERPRINT attribute (RFC 8489 §14.7).

enum CRC32 {
    /// Reflected polynomial 0xEDB88320, one entry per byte value.
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
        }
        return crc
    }

    /// Initial value and final XOR are both 0xFFFFFFFF; checksum("123456789") == 0xCBF43926.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { table in
            for byte in bytes {
                crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
            }
        }
        return crc ^ 0xFFFF_FFFF
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}

extension STUNMessage {
    /// §14.7: FINGERPRINT is the CRC-32 XORed with "STUN", so that a STUN message whose
    /// CRC happens to be carried by another protocol is still told apart.
    static let fingerprintXOR: UInt32 = 0x5354_554E
}

// Compound RTCP datagrams (RFC 3550 §6.1): several RTCP packets back to back, each with its own
// 4-byte header. Parsing allocates (RTCP is a few packets per second per stream, not per packet).

/// Why bytes are not valid RTCP.
public enum RTCPParseError: Error, Equatable, Sendable {
    /// Fewer than the 4 header bytes remain, or the datagram is empty.
    case tooShort
    /// A packet's version field is not 2.
    case badVersion
    /// A packet's length field points past the end of the datagram.
    case lengthOverrun
    /// The P bit is set but the padding count is 0 or longer than the packet body.
    case invalidPadding
    /// A packet of a known type whose body does not match its count or its format.
    case badPacket(type: UInt8)
}

public enum RTCPCompound {
    /// Parses every packet of a compound RTCP datagram (already decrypted). Throws on any
    /// malformed packet header/length, or on a known packet type with a malformed body.
    /// Reduced-size RTCP (RFC 5506) is accepted: no packet type is required first.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(RTCPParseError) -> [RTCPPacket] {
        guard !bytes.isEmpty else { throw .tooShort }
        var packets: [RTCPPacket] = []
        var offset = 0
        while offset < bytes.count {
            guard bytes.count - offset >= 4 else { throw .tooShort }
            let first = bytes[offset]
            guard first >> 6 == 2 else { throw .badVersion }
            // §6.4.1: length is in 32-bit words minus one, so a header-only packet says 0.
            let length = (Int(bytes.be16(at: offset + 2)) + 1) * 4
            guard length <= bytes.count - offset else { throw .lengthOverrun }
            var bodyEnd = offset + length
            if first & 0x20 != 0 {
                let padding = Int(bytes[bodyEnd - 1])
                guard padding > 0, padding <= length - 4 else { throw .invalidPadding }
                bodyEnd -= padding
            }
            packets.append(
                try RTCPPacket.parse(
                    type: bytes[offset + 1], count: first & 0x1F,
                    body: bytes.slice(offset + 4..<bodyEnd)))
            offset += length
        }
        return packets
    }

    /// Serializes the packets back to back (`.unknown` packets write nothing).
    public static func serialize(_ packets: [RTCPPacket]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(packets.count * 32)
        for packet in packets {
            packet.serialize(into: &out)
        }
        return out
    }
}

/// RTCP packet types (RFC 3550 §12.1, RFC 4585 §6.1).
enum RTCPPacketType {
    static let senderReport: UInt8 = 200
    static let receiverReport: UInt8 = 201
    static let sourceDescription: UInt8 = 202
    static let goodbye: UInt8 = 203
    static let transportFeedback: UInt8 = 205  // RTPFB
    static let payloadFeedback: UInt8 = 206  // PSFB
    static let extendedReport: UInt8 = 207  // XR (RFC 3611)
}

extension Array where Element == UInt8 {
    /// Appends an RTCP header with a zero length; returns where it starts for `endRTCPPacket`.
    mutating func beginRTCPPacket(count: UInt8, type: UInt8) -> Int {
        let start = self.count
        append(0x80 | (count & 0x1F))
        append(type)
        append(0)
        append(0)
        return start
    }

    /// Fills in the length (32-bit words minus one) of the packet that starts at `start`.
    mutating func endRTCPPacket(start: Int) {
        let length = self.count - start
        precondition(length % 4 == 0, "RTCP packets are 32-bit aligned")
        let words = UInt16(length / 4 - 1)
        self[start + 2] = UInt8(truncatingIfNeeded: words >> 8)
        self[start + 3] = UInt8(truncatingIfNeeded: words)
    }
}

// REMB (draft-alvestrand-rmcat-remb-03 §2.2, PSFB FMT 15 with the "REMB" identifier): the
// receiver's estimate of the total bitrate it can take for the listed SSRCs.

public struct ReceiverEstimatedMaxBitrate: Equatable, Sendable {
    public var senderSSRC: UInt32
    /// Bits per second. On the wire: an 18-bit mantissa shifted by a 6-bit exponent; serializing
    /// rounds down to what that can express (exact below 2^18 and for mantissa << exp values).
    /// A received value too big for 64 bits saturates to UInt64.max.
    public var bitrate: UInt64
    /// The media SSRCs the estimate applies to (at most 255 are serialized).
    public var ssrcs: [UInt32]

    public init(senderSSRC: UInt32, bitrate: UInt64, ssrcs: [UInt32]) {
        self.senderSSRC = senderSSRC
        self.bitrate = bitrate
        self.ssrcs = ssrcs
    }

    static let format: UInt8 = 15
    /// "REMB" in ASCII.
    static let identifier: UInt32 = 0x5245_4D42

    /// Nil when this application-layer feedback is not a REMB.
    init?(body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        let bad = RTCPParseError.badPacket(type: RTCPPacketType.payloadFeedback)
        guard body.count >= 12 else { throw bad }
        guard body.be32(at: 8) == Self.identifier else { return nil }
        guard body.count >= 16 else { throw bad }
        senderSSRC = body.be32(at: 0)
        // body[4..<8] is the media SSRC, always 0 for REMB.
        let word = body.be32(at: 12)
        let count = Int(word >> 24)
        let exponent = Int((word >> 18) & 0x3F)
        let mantissa = UInt64(word & 0x3_FFFF)
        if mantissa != 0 && mantissa.leadingZeroBitCount < exponent {
            bitrate = .max
        } else {
            bitrate = mantissa << exponent
        }
        guard body.count >= 16 + 4 * count else { throw bad }
        ssrcs = (0..<count).map { body.be32(at: 16 + 4 * $0) }
    }

    func serialize(into out: inout [UInt8]) {
        let start = out.beginRTCPPacket(count: Self.format, type: RTCPPacketType.payloadFeedback)
        out.appendBE32(senderSSRC)
        out.appendBE32(0)
        out.appendBE32(Self.identifier)
        var mantissa = bitrate
        var exponent: UInt32 = 0
        while mantissa >= 1 << 18 {
            mantissa >>= 1
            exponent += 1
        }
        let listed = ssrcs.prefix(255)
        out.appendBE32(UInt32(listed.count) << 24 | exponent << 18 | UInt32(mantissa))
        for ssrc in listed { out.appendBE32(ssrc) }
        out.endRTCPPacket(start: start)
    }
}

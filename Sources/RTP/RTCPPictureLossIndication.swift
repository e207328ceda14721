// RTCP PLI (RFC 4585 §6.3.1, PSFB FMT 1): "I lost picture data, send a keyframe". The SFU
// sends it to a publisher when a subscriber joins, resumes, or cannot decode.

public struct PictureLossIndication: Equatable, Sendable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32

    public init(senderSSRC: UInt32, mediaSSRC: UInt32) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
    }

    static let format: UInt8 = 1

    init(body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        // PLI has no FCI (§6.3.1); extra bytes are tolerated.
        guard body.count >= 8 else { throw .badPacket(type: RTCPPacketType.payloadFeedback) }
        senderSSRC = body.be32(at: 0)
        mediaSSRC = body.be32(at: 4)
    }

    func serialize(into out: inout [UInt8]) {
        let start = out.beginRTCPPacket(count: Self.format, type: RTCPPacketType.payloadFeedback)
        out.appendBE32(senderSSRC)
        out.appendBE32(mediaSSRC)
        out.endRTCPPacket(start: start)
    }
}

// RTCP FIR (RFC 5104 §4.3.1, PSFB FMT 4): a keyframe request that names its targets in the FCI
// and carries a per-target command sequence number so that retransmitted requests are not
// acted on twice.

public struct FullIntraRequest: Equatable, Sendable {
    /// One FCI entry: the media sender asked for a keyframe, and this request's sequence number
    /// (incremented by the requester for each new request, §4.3.1.1).
    public struct Entry: Equatable, Sendable {
        public var ssrc: UInt32
        public var sequenceNumber: UInt8

        public init(ssrc: UInt32, sequenceNumber: UInt8) {
            self.ssrc = ssrc
            self.sequenceNumber = sequenceNumber
        }
    }

    public var senderSSRC: UInt32
    /// RFC 5104 §4.3.1.2: SHALL be 0 on send; the targets are in `entries`.
    public var mediaSSRC: UInt32
    public var entries: [Entry]

    public init(senderSSRC: UInt32, mediaSSRC: UInt32 = 0, entries: [Entry]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.entries = entries
    }

    static let format: UInt8 = 4

    init(body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        // 8 bytes of common feedback header, then whole 8-byte FCI entries.
        guard body.count >= 8, (body.count - 8) % 8 == 0 else {
            throw .badPacket(type: RTCPPacketType.payloadFeedback)
        }
        senderSSRC = body.be32(at: 0)
        mediaSSRC = body.be32(at: 4)
        entries = stride(from: 8, to: body.count, by: 8).map {
            Entry(ssrc: body.be32(at: $0), sequenceNumber: body[$0 + 4])
        }
    }

    func serialize(into out: inout [UInt8]) {
        let start = out.beginRTCPPacket(count: Self.format, type: RTCPPacketType.payloadFeedback)
        out.appendBE32(senderSSRC)
        out.appendBE32(mediaSSRC)
        for entry in entries {
            out.appendBE32(entry.ssrc)
            out.append(entry.sequenceNumber)
            out.append(contentsOf: [0, 0, 0])  // reserved
        }
        out.endRTCPPacket(start: start)
    }
}

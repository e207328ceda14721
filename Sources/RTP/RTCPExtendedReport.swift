// RTCP extended reports (RFC 3611, PT 207), the two blocks that give a receiver that sends no
// media a round-trip time: it sends a Receiver Reference Time Report (RRTR, §4.4) with its NTP
// time, and the media sender answers with a DLRR block (§4.5) naming when it got that report
// and how long it held it, as LSR/DLSR do for senders in RFC 3550.

public struct ExtendedReport: Equatable, Sendable {
    public var senderSSRC: UInt32
    /// The RRTR block: the sender's 64-bit NTP time when it sent this report.
    public var receiverReferenceTime: UInt64?
    /// The DLRR block: per SSRC whose RRTR was received, its middle 32 bits (LRR) and the delay
    /// since, in 1/65536 s (DLRR).
    public var delaysSinceLastReceiverReport: [DelaySinceLastReceiverReport]

    public struct DelaySinceLastReceiverReport: Equatable, Sendable {
        public var ssrc: UInt32
        public var lastReceiverReport: UInt32
        public var delay: UInt32

        public init(ssrc: UInt32, lastReceiverReport: UInt32, delay: UInt32) {
            self.ssrc = ssrc
            self.lastReceiverReport = lastReceiverReport
            self.delay = delay
        }
    }

    public init(
        senderSSRC: UInt32, receiverReferenceTime: UInt64? = nil,
        delaysSinceLastReceiverReport: [DelaySinceLastReceiverReport] = []
    ) {
        self.senderSSRC = senderSSRC
        self.receiverReferenceTime = receiverReferenceTime
        self.delaysSinceLastReceiverReport = delaysSinceLastReceiverReport
    }

    static let rrtrBlock: UInt8 = 4
    static let dlrrBlock: UInt8 = 5

    /// Unknown block types are skipped by their length (§3).
    init(body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        let bad = RTCPParseError.badPacket(type: RTCPPacketType.extendedReport)
        guard body.count >= 4 else { throw bad }
        senderSSRC = body.be32(at: 0)
        receiverReferenceTime = nil
        delaysSinceLastReceiverReport = []
        var offset = 4
        while offset < body.count {
            guard offset + 4 <= body.count else { throw bad }
            let type = body[offset]
            let length = Int(body.be16(at: offset + 2)) * 4
            let start = offset + 4
            guard start + length <= body.count else { throw bad }
            switch type {
            case Self.rrtrBlock:
                guard length == 8 else { throw bad }
                receiverReferenceTime = UInt64(body.be32(at: start)) << 32 | UInt64(body.be32(at: start + 4))
            case Self.dlrrBlock:
                guard length % 12 == 0 else { throw bad }
                for o in stride(from: start, to: start + length, by: 12) {
                    delaysSinceLastReceiverReport.append(.init(
                        ssrc: body.be32(at: o), lastReceiverReport: body.be32(at: o + 4), delay: body.be32(at: o + 8)))
                }
            default:
                break
            }
            offset = start + length
        }
    }

    func serialize(into out: inout [UInt8]) {
        let start = out.beginRTCPPacket(count: 0, type: RTCPPacketType.extendedReport)
        out.appendBE32(senderSSRC)
        if let time = receiverReferenceTime {
            out.append(contentsOf: [Self.rrtrBlock, 0])
            out.appendBE16(2)
            out.appendBE32(UInt32(truncatingIfNeeded: time >> 32))
            out.appendBE32(UInt32(truncatingIfNeeded: time))
        }
        if !delaysSinceLastReceiverReport.isEmpty {
            out.append(contentsOf: [Self.dlrrBlock, 0])
            out.appendBE16(UInt16(clamping: delaysSinceLastReceiverReport.count * 3))
            for entry in delaysSinceLastReceiverReport {
                out.appendBE32(entry.ssrc)
                out.appendBE32(entry.lastReceiverReport)
                out.appendBE32(entry.delay)
            }
        }
        out.endRTCPPacket(start: start)
    }
}

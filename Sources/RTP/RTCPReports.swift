// RTCP sender and receiver reports (RFC 3550 §6.4): the SR's sender info plus report blocks
// that carry loss, jitter and the LSR/DLSR pair a sender uses to compute round-trip time.

/// One reception report block (RFC 3550 §6.4.1), 24 bytes on the wire.
public struct ReportBlock: Equatable, Sendable {
    public var ssrc: UInt32
    /// Fraction of packets lost since the last report, in 1/256ths.
    public var fractionLost: UInt8
    /// Cumulative packets lost: 24-bit signed on the wire (duplicates can make it negative);
    /// serialization clamps to -8388608...8388607.
    public var cumulativeLost: Int32
    public var extendedHighestSequence: UInt32
    public var jitter: UInt32
    /// Middle 32 bits of the NTP timestamp of the last SR received from this source (0: none).
    public var lastSenderReport: UInt32
    /// Delay since that SR, in 1/65536 seconds.
    public var delaySinceLastSenderReport: UInt32

    public init(
        ssrc: UInt32, fractionLost: UInt8, cumulativeLost: Int32, extendedHighestSequence: UInt32,
        jitter: UInt32, lastSenderReport: UInt32, delaySinceLastSenderReport: UInt32
    ) {
        self.ssrc = ssrc
        self.fractionLost = fractionLost
        self.cumulativeLost = cumulativeLost
        self.extendedHighestSequence = extendedHighestSequence
        self.jitter = jitter
        self.lastSenderReport = lastSenderReport
        self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }

    static let size = 24
    /// The count field has 5 bits (RFC 3550 §6.4.1).
    static let maxPerPacket = 31

    init(_ b: UnsafeRawBufferPointer, at o: Int) {
        ssrc = b.be32(at: o)
        let lossWord = b.be32(at: o + 4)
        fractionLost = UInt8(truncatingIfNeeded: lossWord >> 24)
        // Sign-extend the low 24 bits.
        cumulativeLost = Int32(bitPattern: lossWord << 8) >> 8
        extendedHighestSequence = b.be32(at: o + 8)
        jitter = b.be32(at: o + 12)
        lastSenderReport = b.be32(at: o + 16)
        delaySinceLastSenderReport = b.be32(at: o + 20)
    }

    func serialize(into out: inout [UInt8]) {
        out.appendBE32(ssrc)
        let lost = min(max(cumulativeLost, -0x80_0000), 0x7F_FFFF)
        out.appendBE32(UInt32(fractionLost) << 24 | UInt32(bitPattern: lost) & 0xFF_FFFF)
        out.appendBE32(extendedHighestSequence)
        out.appendBE32(jitter)
        out.appendBE32(lastSenderReport)
        out.appendBE32(delaySinceLastSenderReport)
    }

    static func parseList(
        count: UInt8, body: UnsafeRawBufferPointer, at offset: Int, type: UInt8
    ) throws(RTCPParseError) -> [ReportBlock] {
        // Bytes after the blocks are profile-specific extensions (§6.4.1) and are ignored.
        guard body.count >= offset + Int(count) * size else { throw .badPacket(type: type) }
        var blocks: [ReportBlock] = []
        blocks.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            blocks.append(ReportBlock(body, at: offset + i * size))
        }
        return blocks
    }
}

/// RTCP SR (RFC 3550 §6.4.1, packet type 200).
public struct SenderReport: Equatable, Sendable {
    public var ssrc: UInt32
    /// 64-bit NTP wallclock time of this report (see `NTPTime`).
    public var ntpTimestamp: UInt64
    /// The same instant in the stream's RTP clock.
    public var rtpTimestamp: UInt32
    public var packetCount: UInt32
    public var octetCount: UInt32
    public var reports: [ReportBlock]

    public init(
        ssrc: UInt32, ntpTimestamp: UInt64, rtpTimestamp: UInt32, packetCount: UInt32,
        octetCount: UInt32, reports: [ReportBlock] = []
    ) {
        self.ssrc = ssrc
        self.ntpTimestamp = ntpTimestamp
        self.rtpTimestamp = rtpTimestamp
        self.packetCount = packetCount
        self.octetCount = octetCount
        self.reports = reports
    }

    init(count: UInt8, body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        guard body.count >= 24 else { throw .badPacket(type: RTCPPacketType.senderReport) }
        ssrc = body.be32(at: 0)
        ntpTimestamp = body.be64(at: 4)
        rtpTimestamp = body.be32(at: 12)
        packetCount = body.be32(at: 16)
        octetCount = body.be32(at: 20)
        reports = try ReportBlock.parseList(
            count: count, body: body, at: 24, type: RTCPPacketType.senderReport)
    }

    /// More than 31 blocks: the rest follow in RRs from the same SSRC (RFC 3550 §6.4.2).
    func serialize(into out: inout [UInt8]) {
        let first = reports.prefix(ReportBlock.maxPerPacket)
        let start = out.beginRTCPPacket(count: UInt8(first.count), type: RTCPPacketType.senderReport)
        out.appendBE32(ssrc)
        out.appendBE64(ntpTimestamp)
        out.appendBE32(rtpTimestamp)
        out.appendBE32(packetCount)
        out.appendBE32(octetCount)
        for block in first { block.serialize(into: &out) }
        out.endRTCPPacket(start: start)
        if reports.count > ReportBlock.maxPerPacket {
            ReceiverReport(ssrc: ssrc, reports: Array(reports.dropFirst(ReportBlock.maxPerPacket)))
                .serialize(into: &out)
        }
    }
}

/// RTCP RR (RFC 3550 §6.4.2, packet type 201).
public struct ReceiverReport: Equatable, Sendable {
    public var ssrc: UInt32
    public var reports: [ReportBlock]

    public init(ssrc: UInt32, reports: [ReportBlock] = []) {
        self.ssrc = ssrc
        self.reports = reports
    }

    init(count: UInt8, body: UnsafeRawBufferPointer) throws(RTCPParseError) {
        guard body.count >= 4 else { throw .badPacket(type: RTCPPacketType.receiverReport) }
        ssrc = body.be32(at: 0)
        reports = try ReportBlock.parseList(
            count: count, body: body, at: 4, type: RTCPPacketType.receiverReport)
    }

    /// More than 31 blocks are split over several RRs.
    func serialize(into out: inout [UInt8]) {
        var index = 0
        repeat {
            let chunk = reports[index..<min(index + ReportBlock.maxPerPacket, reports.count)]
            let start = out.beginRTCPPacket(
                count: UInt8(chunk.count), type: RTCPPacketType.receiverReport)
            out.appendBE32(ssrc)
            for block in chunk { block.serialize(into: &out) }
            out.endRTCPPacket(start: start)
            index += ReportBlock.maxPerPacket
        } while index < reports.count
    }
}

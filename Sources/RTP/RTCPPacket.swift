// One RTCP packet of a compound datagram, as a value: the kinds an SFU reads and writes
// (reports, SDES, BYE, PLI, FIR, generic NACK, REMB); other kinds are kept as `.unknown`.

public enum RTCPPacket: Equatable, Sendable {
    case senderReport(SenderReport)
    case receiverReport(ReceiverReport)
    case sourceDescription(SourceDescription)
    case goodbye(Goodbye)
    case pictureLossIndication(PictureLossIndication)
    case fullIntraRequest(FullIntraRequest)
    case nack(GenericNACK)
    case remb(ReceiverEstimatedMaxBitrate)
    case transportFeedback(TransportFeedback)
    case extendedReport(ExtendedReport)
    /// A packet this codec does not decode (APP, XR, TWCC, ...). `format` is the 5-bit count/FMT
    /// field. Kept so that a compound with one of them still parses; it serializes to nothing.
    case unknown(packetType: UInt8, format: UInt8)

    /// Appends the wire form to `out`. Lists longer than a 5-bit count allows are split into
    /// several packets (RFC 3550 §6.4.2 for report blocks).
    public func serialize(into out: inout [UInt8]) {
        switch self {
        case .senderReport(let p): p.serialize(into: &out)
        case .receiverReport(let p): p.serialize(into: &out)
        case .sourceDescription(let p): p.serialize(into: &out)
        case .goodbye(let p): p.serialize(into: &out)
        case .pictureLossIndication(let p): p.serialize(into: &out)
        case .fullIntraRequest(let p): p.serialize(into: &out)
        case .nack(let p): p.serialize(into: &out)
        case .remb(let p): p.serialize(into: &out)
        case .transportFeedback(let p): p.serialize(into: &out)
        case .extendedReport(let p): p.serialize(into: &out)
        case .unknown: break
        }
    }

    /// Decodes one packet's body (after the 4-byte header, without padding).
    static func parse(
        type: UInt8, count: UInt8, body: UnsafeRawBufferPointer
    ) throws(RTCPParseError) -> RTCPPacket {
        switch (type, count) {
        case (RTCPPacketType.senderReport, _):
            return .senderReport(try SenderReport(count: count, body: body))
        case (RTCPPacketType.receiverReport, _):
            return .receiverReport(try ReceiverReport(count: count, body: body))
        case (RTCPPacketType.sourceDescription, _):
            return .sourceDescription(try SourceDescription(count: count, body: body))
        case (RTCPPacketType.goodbye, _):
            return .goodbye(try Goodbye(count: count, body: body))
        case (RTCPPacketType.transportFeedback, GenericNACK.format):
            return .nack(try GenericNACK(body: body))
        case (RTCPPacketType.transportFeedback, TransportFeedback.format):
            return .transportFeedback(try TransportFeedback(body: body))
        case (RTCPPacketType.extendedReport, _):
            return .extendedReport(try ExtendedReport(body: body))
        case (RTCPPacketType.payloadFeedback, PictureLossIndication.format):
            return .pictureLossIndication(try PictureLossIndication(body: body))
        case (RTCPPacketType.payloadFeedback, FullIntraRequest.format):
            return .fullIntraRequest(try FullIntraRequest(body: body))
        case (RTCPPacketType.payloadFeedback, ReceiverEstimatedMaxBitrate.format):
            // FMT 15 is any application-layer feedback (RFC 4585 §6.4); only REMB is decoded.
            if let remb = try ReceiverEstimatedMaxBitrate(body: body) {
                return .remb(remb)
            }
            return .unknown(packetType: type, format: count)
        default:
            return .unknown(packetType: type, format: count)
        }
    }
}

// RTCP compound packets (RFC 3550 §6, RFC 4585, RFC 5104, REMB): round trips through the wire
// form, exact bytes where the packing matters, and malformed lengths.
import RTP
import Testing

private let blockA = ReportBlock(
    ssrc: 0x1111_1111, fractionLost: 25, cumulativeLost: 1234, extendedHighestSequence: 0x0001_FFFE,
    jitter: 90, lastSenderReport: 0xAABB_CCDD, delaySinceLastSenderReport: 65536)
private let blockB = ReportBlock(
    ssrc: 0x2222_2222, fractionLost: 0, cumulativeLost: -5, extendedHighestSequence: 7,
    jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)

@Suite struct RTCPTests {
    @Test func senderReportSDESAndByeRoundTrip() throws {
        let packets: [RTCPPacket] = [
            .senderReport(SenderReport(
                ssrc: 0xCAFE_0001, ntpTimestamp: NTPTime.fromUnixNanoseconds(1_700_000_000_123_456_789),
                rtpTimestamp: 0xFFFF_FFF0, packetCount: 1000, octetCount: 1_200_000,
                reports: [blockA, blockB])),
            .sourceDescription(.cname(ssrc: 0xCAFE_0001, "user@host")),
            .goodbye(Goodbye(ssrcs: [0xCAFE_0001], reason: Array("bye!!".utf8))),
        ]
        let wire = RTCPCompound.serialize(packets)
        // SR 4+24+48, SDES 4+(4+2+9+1), BYE 4+4+(1+5) padded to 16.
        #expect(wire.count == 76 + 20 + 16)
        #expect(Array(wire[0..<4]) == [0x82, 200, 0, 18])
        #expect(Array(wire[76..<80]) == [0x81, 202, 0, 4])
        #expect(Array(wire[96..<100]) == [0x81, 203, 0, 3])
        #expect(try parseRTCP(wire).get() == packets)
    }

    @Test func reportBlockCarriesSigned24BitLoss() throws {
        let rr = RTCPPacket.receiverReport(ReceiverReport(ssrc: 1, reports: [blockB]))
        let wire = RTCPCompound.serialize([rr])
        #expect(Array(wire[12..<16]) == [0, 0xFF, 0xFF, 0xFB])  // fraction 0, lost -5
        #expect(try parseRTCP(wire).get() == [rr])
        // Out-of-range losses clamp to the 24-bit range instead of corrupting the fraction.
        var big = blockA
        big.cumulativeLost = 100_000_000
        var small = blockA
        small.cumulativeLost = -100_000_000
        let clamped = try parseRTCP(RTCPCompound.serialize([
            .receiverReport(ReceiverReport(ssrc: 1, reports: [big, small]))
        ])).get()
        guard case .receiverReport(let parsed) = clamped.first else {
            Issue.record("not an RR")
            return
        }
        #expect(parsed.reports.map(\.cumulativeLost) == [0x7F_FFFF, -0x80_0000])
        #expect(parsed.reports.map(\.fractionLost) == [25, 25])
    }

    @Test func feedbackCompoundRoundTrips() throws {
        let packets: [RTCPPacket] = [
            .receiverReport(ReceiverReport(ssrc: 0x0BAD_F00D, reports: [blockA])),
            .pictureLossIndication(PictureLossIndication(senderSSRC: 1, mediaSSRC: 0x5555_0001)),
            .fullIntraRequest(FullIntraRequest(
                senderSSRC: 1, mediaSSRC: 0,
                entries: [.init(ssrc: 0x5555_0001, sequenceNumber: 7), .init(ssrc: 0x5555_0002, sequenceNumber: 255)])),
            .nack(GenericNACK(senderSSRC: 1, mediaSSRC: 0x5555_0001, lost: [100, 101, 116, 117, 200])),
            .remb(ReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 1_000_000, ssrcs: [0x5555_0001, 0x5555_0002])),
        ]
        let wire = RTCPCompound.serialize(packets)
        #expect(try parseRTCP(wire).get() == packets)
        // Serializing one packet appends to what is there.
        var out: [UInt8] = [1, 2, 3]
        packets[1].serialize(into: &out)
        #expect(out == [1, 2, 3, 0x81, 206, 0, 2, 0, 0, 0, 1, 0x55, 0x55, 0, 1])
    }

    @Test func nackPacksPIDAndBLP() throws {
        let nack = GenericNACK(senderSSRC: 9, mediaSSRC: 10, lost: [100, 101, 116, 117, 200])
        let wire = RTCPCompound.serialize([.nack(nack)])
        #expect(Array(wire[0..<4]) == [0x81, 205, 0, 5])
        // (100, bits for 101 and 116), (117, none), (200, none).
        #expect(Array(wire[12...]) == [0, 100, 0x80, 0x01, 0, 117, 0, 0, 0, 200, 0, 0])
        #expect(try parseRTCP(wire).get() == [.nack(nack)])
    }

    @Test func nackPacksAcrossTheWrap() throws {
        let nack = GenericNACK(senderSSRC: 9, mediaSSRC: 10, lost: [65534, 65535, 0, 14, 15])
        let wire = RTCPCompound.serialize([.nack(nack)])
        // 65535 is +1, 0 is +2, 14 is +16; 15 starts a new pair.
        #expect(Array(wire[12...]) == [0xFF, 0xFE, 0x80, 0x03, 0, 15, 0, 0])
        #expect(try parseRTCP(wire).get() == [.nack(nack)])
    }

    @Test func nackParserExpandsEveryBit() throws {
        let wire: [UInt8] = [0x81, 205, 0, 3] + be32(1) + be32(2) + [0x12, 0x34, 0xFF, 0xFF]
        let expected = (0...16).map { SequenceNumber(0x1234) &+ UInt16($0) }
        #expect(try parseRTCP(wire).get() == [.nack(GenericNACK(senderSSRC: 1, mediaSSRC: 2, lost: expected))])
    }

    @Test func rembUsesExponentAndMantissa() throws {
        let remb = ReceiverEstimatedMaxBitrate(senderSSRC: 0xABCD, bitrate: 1_000_000, ssrcs: [42])
        let wire = RTCPCompound.serialize([.remb(remb)])
        #expect(Array(wire[0..<4]) == [0x8F, 206, 0, 5])
        #expect(Array(wire[8..<16]) == [0, 0, 0, 0, 0x52, 0x45, 0x4D, 0x42])  // media 0, "REMB"
        // 1_000_000 = 250_000 << 2: count 1, exp 2, mantissa 250_000 (0x3D090).
        #expect(Array(wire[16..<20]) == [0x01, 0x0B, 0xD0, 0x90])
        // Unrepresentable rates round down.
        let odd = ReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: (1 << 18) + 1, ssrcs: [])
        let parsed = try parseRTCP(RTCPCompound.serialize([.remb(odd)])).get()
        #expect(parsed == [.remb(ReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 1 << 18, ssrcs: []))])
        let huge = ReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: UInt64.max, ssrcs: [])
        let hugeParsed = try parseRTCP(RTCPCompound.serialize([.remb(huge)])).get()
        #expect(hugeParsed == [.remb(ReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: 0x3FFFF << 46, ssrcs: []))])
        // Exponent 63 with a full mantissa does not fit 64 bits: saturate.
        let overflow: [UInt8] = [0x8F, 206, 0, 4] + be32(1) + be32(0) + Array("REMB".utf8) + [0x00, 0xFF, 0xFF, 0xFF]
        #expect(try parseRTCP(overflow).get() == [.remb(ReceiverEstimatedMaxBitrate(senderSSRC: 1, bitrate: .max, ssrcs: []))])
    }

    @Test func unknownPacketsAreKept() throws {
        let app: [UInt8] = [0x83, 204, 0, 2] + be32(1) + Array("name".utf8)
        let tmmbr: [UInt8] = [0x83, 205, 0, 2] + be32(1) + be32(2)
        let afb: [UInt8] = [0x8F, 206, 0, 3] + be32(1) + be32(2) + Array("GOOG".utf8)
        let pli: [UInt8] = [0x81, 206, 0, 2] + be32(3) + be32(4)
        let parsed = try parseRTCP(app + tmmbr + afb + pli).get()
        #expect(parsed == [
            .unknown(packetType: 204, format: 3), .unknown(packetType: 205, format: 3),
            .unknown(packetType: 206, format: 15),
            .pictureLossIndication(PictureLossIndication(senderSSRC: 3, mediaSSRC: 4)),
        ])
        #expect(RTCPCompound.serialize(parsed) == pli)
    }

    @Test func paddingOnTheLastPacketIsStripped() throws {
        let rr: [UInt8] = [0xA0, 201, 0, 2] + be32(0x77) + [0, 0, 0, 4]
        #expect(try parseRTCP(rr).get() == [.receiverReport(ReceiverReport(ssrc: 0x77, reports: []))])
    }

    @Test func longListsAreSplitIntoSeveralPackets() throws {
        let blocks = (0..<40).map { i in
            ReportBlock(ssrc: UInt32(i), fractionLost: 0, cumulativeLost: 0, extendedHighestSequence: 0,
                        jitter: 0, lastSenderReport: 0, delaySinceLastSenderReport: 0)
        }
        let sr = SenderReport(ssrc: 5, ntpTimestamp: 1, rtpTimestamp: 2, packetCount: 3, octetCount: 4, reports: blocks)
        var firstPart = sr
        firstPart.reports = Array(blocks.prefix(31))
        #expect(try parseRTCP(RTCPCompound.serialize([.senderReport(sr)])).get() == [
            .senderReport(firstPart),
            .receiverReport(ReceiverReport(ssrc: 5, reports: Array(blocks.suffix(9)))),
        ])
        let bye = Goodbye(ssrcs: (0..<33).map { UInt32($0) }, reason: [1])
        #expect(try parseRTCP(RTCPCompound.serialize([.goodbye(bye)])).get() == [
            .goodbye(Goodbye(ssrcs: (0..<31).map { UInt32($0) }, reason: nil)),
            .goodbye(Goodbye(ssrcs: [31, 32], reason: [1])),
        ])
        let chunks = (0..<32).map { SourceDescription.Chunk(ssrc: UInt32($0), items: []) }
        #expect(try parseRTCP(RTCPCompound.serialize([.sourceDescription(SourceDescription(chunks: chunks))])).get() == [
            .sourceDescription(SourceDescription(chunks: Array(chunks.prefix(31)))),
            .sourceDescription(SourceDescription(chunks: [chunks[31]])),
        ])
    }

    @Test func sdesChunksEndAlignedWithAtLeastOneNullOctet() throws {
        // Items of 2 + 2 bytes end on a 32-bit boundary: a whole zero word must follow.
        let sdes = SourceDescription(chunks: [
            SourceDescription.Chunk(ssrc: 1, items: [.init(type: 1, value: [0x61, 0x62])]),
            SourceDescription.Chunk(ssrc: 2, items: [
                .init(type: 2, value: Array("name".utf8)), .init(type: 8, value: []),
                .init(type: 5, value: Array(repeating: 0x41, count: 255)),
            ]),
            SourceDescription.Chunk(ssrc: 3, items: []),
        ])
        let wire = RTCPCompound.serialize([.sourceDescription(sdes)])
        #expect(Array(wire[4..<16]) == [0, 0, 0, 1, 1, 2, 0x61, 0x62, 0, 0, 0, 0])
        #expect(wire.count % 4 == 0)
        #expect(try parseRTCP(wire).get() == [.sourceDescription(sdes)])
        // Values longer than 255 bytes are truncated, not wrapped.
        let long = SourceDescription(chunks: [.init(ssrc: 1, items: [.init(type: 1, value: Array(repeating: 7, count: 300))])])
        let truncated = SourceDescription(chunks: [.init(ssrc: 1, items: [.init(type: 1, value: Array(repeating: 7, count: 255))])])
        #expect(try parseRTCP(RTCPCompound.serialize([.sourceDescription(long)])).get() == [.sourceDescription(truncated)])
    }

    @Test func byeWithoutReasonAndWithEmptyReason() throws {
        for bye in [Goodbye(ssrcs: [1, 2], reason: nil), Goodbye(ssrcs: [], reason: []), Goodbye(ssrcs: [3], reason: Array("abc".utf8))] {
            let wire = RTCPCompound.serialize([.goodbye(bye)])
            #expect(wire.count % 4 == 0)
            #expect(try parseRTCP(wire).get() == [.goodbye(bye)])
        }
    }

    @Test func rejectsBadHeadersAndLengths() {
        let rr: [UInt8] = [0x80, 201, 0, 1] + be32(9)
        #expect(parseRTCP([]) == .failure(.tooShort))
        #expect(parseRTCP([0x80, 201, 0]) == .failure(.tooShort))
        #expect(parseRTCP(rr + [0x80]) == .failure(.tooShort))
        #expect(parseRTCP([0x40, 201, 0, 1] + be32(9)) == .failure(.badVersion))
        #expect(parseRTCP(rr + [0xC0, 201, 0, 0]) == .failure(.badVersion))
        #expect(parseRTCP([0x80, 201, 0, 2] + be32(9)) == .failure(.lengthOverrun))
        #expect(parseRTCP([0x80, 201, 0xFF, 0xFF] + be32(9)) == .failure(.lengthOverrun))
        // Padding count 0, or longer than the body.
        #expect(parseRTCP([0xA0, 201, 0, 1] + [0, 0, 0, 0]) == .failure(.invalidPadding))
        #expect(parseRTCP([0xA0, 201, 0, 1] + [0, 0, 0, 5]) == .failure(.invalidPadding))
        // P bit on a header-only packet: no body to hold the count.
        #expect(parseRTCP([0xA0, 201, 0, 0]) == .failure(.invalidPadding))
    }

    @Test func rejectsBodiesThatDoNotMatchTheirCount() {
        // SR claiming 2 blocks with room for 1.
        let sr: [UInt8] = [0x82, 200, 0, 12] + be32(1) + Array(repeating: 0, count: 20) + Array(repeating: 0, count: 24)
        #expect(parseRTCP(sr) == .failure(.badPacket(type: 200)))
        // SR without its sender info.
        #expect(parseRTCP([0x80, 200, 0, 1] + be32(1)) == .failure(.badPacket(type: 200)))
        // RR without SSRC.
        #expect(parseRTCP([0x80, 201, 0, 0]) == .failure(.badPacket(type: 201)))
        // SDES chunk with no null item.
        #expect(parseRTCP([0x81, 202, 0, 2] + be32(1) + [1, 2, 0x61, 0x62]) == .failure(.badPacket(type: 202)))
        // SDES item longer than the packet.
        #expect(parseRTCP([0x81, 202, 0, 2] + be32(1) + [1, 9, 0x61, 0]) == .failure(.badPacket(type: 202)))
        // SDES claiming 2 chunks, holding 1.
        #expect(parseRTCP([0x82, 202, 0, 2] + be32(1) + [0, 0, 0, 0]) == .failure(.badPacket(type: 202)))
        // BYE claiming 2 SSRCs, holding 1; BYE reason longer than the packet.
        #expect(parseRTCP([0x82, 203, 0, 1] + be32(1)) == .failure(.badPacket(type: 203)))
        #expect(parseRTCP([0x81, 203, 0, 2] + be32(1) + [9, 0x61, 0, 0]) == .failure(.badPacket(type: 203)))
        // PLI without media SSRC; FIR with half an entry; NACK without its SSRCs.
        #expect(parseRTCP([0x81, 206, 0, 1] + be32(1)) == .failure(.badPacket(type: 206)))
        #expect(parseRTCP([0x84, 206, 0, 3] + be32(1) + be32(0) + be32(5)) == .failure(.badPacket(type: 206)))
        #expect(parseRTCP([0x81, 205, 0, 1] + be32(1)) == .failure(.badPacket(type: 205)))
        // A NACK whose padding leaves half an FCI.
        #expect(parseRTCP([0xA1, 205, 0, 3] + be32(1) + be32(2) + [0, 1, 0, 2]) == .failure(.badPacket(type: 205)))
        // REMB claiming 2 SSRCs, holding 1; REMB without its bitrate word.
        #expect(parseRTCP([0x8F, 206, 0, 5] + be32(1) + be32(0) + Array("REMB".utf8) + [2, 0, 0, 1] + be32(5)) == .failure(.badPacket(type: 206)))
        #expect(parseRTCP([0x8F, 206, 0, 3] + be32(1) + be32(0) + Array("REMB".utf8)) == .failure(.badPacket(type: 206)))
        // Application feedback too short to hold an identifier.
        #expect(parseRTCP([0x8F, 206, 0, 2] + be32(1) + be32(0)) == .failure(.badPacket(type: 206)))
    }

    @Test func truncatedCompoundsThrowExceptAtPacketBoundaries() throws {
        let packets: [RTCPPacket] = [
            .senderReport(SenderReport(ssrc: 1, ntpTimestamp: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5, reports: [blockA, blockB])),
            .sourceDescription(.cname(ssrc: 1, "abc")),
            .nack(GenericNACK(senderSSRC: 1, mediaSSRC: 2, lost: [1, 5, 40])),
            .goodbye(Goodbye(ssrcs: [1], reason: Array("x".utf8))),
        ]
        let wire = RTCPCompound.serialize(packets)
        var boundaries: [Int: Int] = [0: 0]
        var offset = 0
        for (i, packet) in packets.enumerated() {
            var one: [UInt8] = []
            packet.serialize(into: &one)
            offset += one.count
            boundaries[offset] = i + 1
        }
        #expect(offset == wire.count)
        for n in 0...wire.count {
            let result = parseRTCP(Array(wire.prefix(n)))
            if let count = boundaries[n], n > 0 {
                #expect(try result.get() == Array(packets.prefix(count)), "prefix \(n)")
            } else {
                #expect(throws: RTCPParseError.self, "prefix \(n)") { try result.get() }
            }
        }
    }
}

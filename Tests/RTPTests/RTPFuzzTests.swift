// Seeded fuzz loops: random and mutated bytes through every parser must only throw or succeed,
// and whatever parses must be self-consistent. Seeds are fixed so failures reproduce.
import ChorusTestSupport
import RTP
import Testing

private let fuzzIterations = 100_000

/// Flips a few bytes of a valid packet and sometimes cuts or extends it: reaches deeper states
/// than uniform noise, which mostly fails the version check.
private func mutate(_ seed: [UInt8], _ rng: inout SeededGenerator) -> [UInt8] {
    var bytes = seed
    for _ in 0..<Int.random(in: 1...3, using: &rng) where !bytes.isEmpty {
        bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
    }
    switch Int.random(in: 0..<4, using: &rng) {
    case 0: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
    case 1: bytes += rng.bytes(Int.random(in: 1...8, using: &rng))
    default: break
    }
    return bytes
}

private let rtpSeeds: [[UInt8]] = [
    RTPPacketTests.rich,
    [0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0x10, 0x00, 0, 3, 1, 0, 0, 0, 200, 2, 9, 8, 3, 1, 7, 0, 0x42],
    [0x80, 111, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xFC, 0xFF, 0xFE],
]

@Suite struct RTPFuzzTests {
    @Test func rtpPacketOnlyThrowsOrSucceeds() {
        var rng = SeededGenerator(seed: 0x5EED_0001)
        var parsed = 0
        var failed = 0
        for _ in 0..<fuzzIterations {
            var bytes: [UInt8]
            if Bool.random(using: &rng) {
                bytes = rng.bytes(Int.random(in: 0...80, using: &rng))
                if !bytes.isEmpty && Bool.random(using: &rng) { bytes[0] = 0x80 | (bytes[0] & 0x3F) }
            } else {
                bytes = mutate(rtpSeeds[Int.random(in: 0..<rtpSeeds.count, using: &rng)], &rng)
            }
            let randomID = UInt8.random(in: 0...255, using: &rng)
            bytes.withUnsafeBytes { raw in
                guard let p = try? RTPPacket(parsing: raw) else {
                    failed += 1
                    return
                }
                parsed += 1
                #expect(p.headerLength >= 12 + 4 * p.csrcCount)
                #expect(p.headerLength + p.payload.count + p.paddingLength == raw.count)
                #expect(p.hasPadding == (p.paddingLength > 0))
                for i in 0..<p.csrcCount { _ = p.csrc(at: i) }
                _ = (p.marker, p.payloadType, p.sequenceNumber, p.timestamp, p.ssrc, p.extensionProfile)
                let ext = p.extensionData
                #expect((ext == nil) == (p.extensionProfile == nil))
                for id in [0, 1, 2, 3, 14, 15, randomID] as [UInt8] {
                    if let element = p.headerExtension(id: id), let ext {
                        #expect(element.baseAddress! >= ext.baseAddress! || element.isEmpty)
                        #expect(element.count <= ext.count)
                    }
                }
                p.forEachHeaderExtension { id, element in
                    #expect(id != 0)
                    #expect(p.headerExtension(id: id) != nil)
                    _ = element.reduce(0, &+)
                }
            }
        }
        // Both outcomes must be common, or the loop is not exercising the parser.
        #expect(parsed > fuzzIterations / 10)
        #expect(failed > fuzzIterations / 10)
    }

    @Test func rtcpCompoundOnlyThrowsOrSucceedsAndReparses() throws {
        var rng = SeededGenerator(seed: 0x5EED_0002)
        var seed: [UInt8] = []
        for _ in 0..<8 { randomRTCPPacket(&rng).serialize(into: &seed) }
        let seeds = [
            seed,
            RTCPCompound.serialize([
                .receiverReport(ReceiverReport(ssrc: 1, reports: [])),
                .sourceDescription(.cname(ssrc: 1, "x")),
                .goodbye(Goodbye(ssrcs: [1], reason: [0x61])),
            ]),
        ]
        var parsed = 0
        var failed = 0
        for _ in 0..<fuzzIterations {
            var bytes: [UInt8]
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                bytes = rng.bytes(Int.random(in: 0...64, using: &rng))
            case 1:
                // A plausible header over random words.
                let words = Int.random(in: 0...8, using: &rng)
                bytes = [0x80 | UInt8.random(in: 0...0x3F, using: &rng), UInt8.random(in: 199...207, using: &rng), 0, UInt8(words)]
                bytes += rng.bytes(4 * words + Int.random(in: 0...1, using: &rng))
            default:
                bytes = mutate(seeds[Int.random(in: 0..<seeds.count, using: &rng)], &rng)
            }
            guard case .success(let packets) = parseRTCP(bytes) else {
                failed += 1
                continue
            }
            parsed += 1
            // Whatever parsed serializes to something that parses back to the same values
            // (unknown packets are dropped; NACK lists are repacked; saturated REMBs re-encode).
            let known = packets.filter { if case .unknown = $0 { false } else { true } }
            if known.isEmpty { continue }  // serializes to nothing, which is not a datagram
            let again = try parseRTCP(RTCPCompound.serialize(packets)).get()
            try #require(again.count >= known.count)
            for (original, reparsed) in zip(known, again) {
                switch (original, reparsed) {
                case (.nack(let a), .nack(let b)):
                    #expect(Set(a.lost) == Set(b.lost))
                    #expect(a.senderSSRC == b.senderSSRC && a.mediaSSRC == b.mediaSSRC)
                case (.remb(let a), .remb(let b)) where a.bitrate == .max:
                    #expect(a.ssrcs == b.ssrcs)
                default:
                    #expect(original == reparsed)
                }
            }
        }
        #expect(parsed > fuzzIterations / 20)
        #expect(failed > fuzzIterations / 10)
    }

    @Test func payloadDescriptorsOnlyThrowOrSucceed() {
        var rng = SeededGenerator(seed: 0x5EED_0003)
        var parsed = 0
        for _ in 0..<fuzzIterations {
            let bytes = rng.bytes(Int.random(in: 0...10, using: &rng))
            bytes.withUnsafeBytes { raw in
                if let d = try? VP8PayloadDescriptor(parsing: raw) {
                    parsed += 1
                    #expect(d.length >= 1 && d.length <= raw.count)
                    #expect(d.length <= 6)
                    #expect(d.partitionIndex <= 7)
                    #expect((d.pictureID ?? 0) <= 0x7FFF)
                    #expect((d.temporalLayer ?? 0) <= 3 && (d.keyIndex ?? 0) <= 31)
                    if !d.extended { #expect(d.length == 1) }
                }
                let key = VP8.isKeyframe(raw)
                if key { #expect(raw[0] & 0x17 == 0x10) }
                _ = H264.isKeyframe(raw)
            }
        }
        #expect(parsed > fuzzIterations / 2)
    }

    @Test func randomRTCPValuesRoundTrip() throws {
        var rng = SeededGenerator(seed: 0x5EED_0004)
        for _ in 0..<5_000 {
            let packets = (0..<Int.random(in: 1...5, using: &rng)).map { _ in randomRTCPPacket(&rng) }
            let wire = RTCPCompound.serialize(packets)
            #expect(wire.count % 4 == 0)
            #expect(try parseRTCP(wire).get() == packets)
        }
    }
}

/// A random RTCP packet within what one wire packet can carry exactly.
private func randomRTCPPacket(_ rng: inout SeededGenerator) -> RTCPPacket {
    func u32() -> UInt32 { UInt32.random(in: 0...UInt32.max, using: &rng) }
    func block() -> ReportBlock {
        ReportBlock(
            ssrc: u32(), fractionLost: UInt8.random(in: 0...255, using: &rng),
            cumulativeLost: Int32.random(in: -0x80_0000...0x7F_FFFF, using: &rng),
            extendedHighestSequence: u32(), jitter: u32(), lastSenderReport: u32(),
            delaySinceLastSenderReport: u32())
    }
    func bytes(_ range: ClosedRange<Int>) -> [UInt8] { rng.bytes(Int.random(in: range, using: &rng)) }
    switch Int.random(in: 0..<8, using: &rng) {
    case 0:
        return .senderReport(SenderReport(
            ssrc: u32(), ntpTimestamp: UInt64.random(in: 0...UInt64.max, using: &rng), rtpTimestamp: u32(),
            packetCount: u32(), octetCount: u32(), reports: (0..<Int.random(in: 0...31, using: &rng)).map { _ in block() }))
    case 1:
        return .receiverReport(ReceiverReport(ssrc: u32(), reports: (0..<Int.random(in: 0...31, using: &rng)).map { _ in block() }))
    case 2:
        let chunks = (0..<Int.random(in: 0...31, using: &rng)).map { _ in
            SourceDescription.Chunk(ssrc: u32(), items: (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                SourceDescription.Item(type: UInt8.random(in: 1...255, using: &rng), value: bytes(0...40))
            })
        }
        return .sourceDescription(SourceDescription(chunks: chunks))
    case 3:
        return .goodbye(Goodbye(
            ssrcs: (0..<Int.random(in: 0...31, using: &rng)).map { _ in u32() },
            reason: Bool.random(using: &rng) ? bytes(0...255) : nil))
    case 4:
        return .pictureLossIndication(PictureLossIndication(senderSSRC: u32(), mediaSSRC: u32()))
    case 5:
        return .fullIntraRequest(FullIntraRequest(
            senderSSRC: u32(), mediaSSRC: u32(),
            entries: (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                .init(ssrc: u32(), sequenceNumber: UInt8.random(in: 0...255, using: &rng))
            }))
    case 6:
        // Ascending without duplicates: the packing round-trips exactly.
        var s = SequenceNumber(UInt16.random(in: 0...UInt16.max, using: &rng))
        var lost: [SequenceNumber] = []
        for _ in 0..<Int.random(in: 0...60, using: &rng) {
            lost.append(s)
            s = s &+ UInt16.random(in: 1...40, using: &rng)
        }
        return .nack(GenericNACK(senderSSRC: u32(), mediaSSRC: u32(), lost: lost))
    default:
        let mantissa = UInt64.random(in: 0..<(1 << 18), using: &rng)
        return .remb(ReceiverEstimatedMaxBitrate(
            senderSSRC: u32(), bitrate: mantissa << UInt64.random(in: 0...46, using: &rng),
            ssrcs: (0..<Int.random(in: 0...255, using: &rng)).map { _ in u32() }))
    }
}

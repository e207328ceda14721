// The retransmission state machines alone, with a clock in hand: the packet history (wrap,
// eviction, age), the NACK generator against a model of what is missing, and the transport-cc
// recorder's feedback read back by the parser.

import ChorusTestSupport
import Testing
@testable import RTP
@testable import SFU

@Suite struct PacketHistoryTests {
    private func packet(_ sequence: UInt16, fill: UInt8) -> [UInt8] {
        [0x80, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0, 1, 0, 0, 0, 2] + [UInt8](repeating: fill, count: 20)
    }

    @Test func storesAcrossTheSequenceWrapAndEvictsTheOldest() {
        let history = PacketHistory(capacity: 8, maximumAge: .seconds(2), slotSize: 64)
        let now = ContinuousClock.now
        var unwrapper = SequenceNumberUnwrapper()
        for raw in [UInt16(65533), 65534, 65535, 0, 1, 2] {
            let extended = unwrapper.unwrap(SequenceNumber(raw))
            packet(raw, fill: UInt8(truncatingIfNeeded: raw)).withUnsafeBytes { history.store($0, sequence: extended, now: now) }
        }
        // 16-bit numbers on either side of the wrap map to the right extended ones.
        #expect(history.extendedSequence(of: SequenceNumber(65534)) == 65534)
        #expect(history.extendedSequence(of: SequenceNumber(1)) == 65537)
        let held = history.packet(history.extendedSequence(of: SequenceNumber(0)), now: now)
        #expect(held.map { Array($0.suffix(1)) } == [0])
        // Eight slots: packet 10 pushes out 65535 + ... (what shares its slot).
        for raw in UInt16(3)...10 {
            packet(raw, fill: 1).withUnsafeBytes { history.store($0, sequence: unwrapper.unwrap(SequenceNumber(raw)), now: now) }
        }
        #expect(history.packet(history.extendedSequence(of: SequenceNumber(2)), now: now) == nil)
        #expect(history.packet(history.extendedSequence(of: SequenceNumber(3)), now: now) != nil)
        // A packet older than the ring covers is not stored over a newer one.
        packet(65533, fill: 9).withUnsafeBytes { history.store($0, sequence: 65533, now: now) }
        #expect(!history.holds(65533))
        #expect(history.packet(history.extendedSequence(of: SequenceNumber(10)), now: now + .seconds(3)) == nil, "too old")
    }

    @Test func tooLargeForASlotIsNotKept() {
        let history = PacketHistory(capacity: 4, maximumAge: .seconds(1), slotSize: 16)
        packet(1, fill: 0).withUnsafeBytes { history.store($0, sequence: 1, now: .now) }
        #expect(!history.holds(1))
    }
}

@Suite struct NackGeneratorTests {
    /// Random arrivals (loss, reordering, late repairs) against a model: a packet is asked for
    /// exactly while it is missing, and at most once per retry interval.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func asksForExactlyWhatIsMissing(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var generator = NackGenerator()
        var missing: Set<Int64> = []
        var lastAsked: [Int64: ContinuousClock.Instant] = [:]
        var highest: Int64 = 0
        var buffer: [SequenceNumber] = []
        var now = ContinuousClock.now
        _ = generator.received(0, now: now)
        for _ in 0..<2_000 {
            now += .milliseconds(5)
            let roll = Int.random(in: 0..<100, using: &random)
            if roll < 10, let late = missing.randomElement(using: &random) {
                // A repair arrives.
                _ = generator.received(late, now: now)
                missing.remove(late)
            } else {
                let skip = roll < 20 ? Int64.random(in: 1...3, using: &random) : 0
                for lost in (highest + 1)..<(highest + 1 + skip) { missing.insert(lost) }
                highest += skip + 1
                _ = generator.received(highest, now: now)
            }
            generator.due(now: now, retry: .milliseconds(40), into: &buffer)
            for asked in buffer {
                let extended = highest - Int64(SequenceNumber(UInt16(truncatingIfNeeded: highest)).distance(to: asked)) * -1
                #expect(missing.contains(extended), "asked for \(asked), which is not missing")
                if let last = lastAsked[extended] { #expect(now - last >= .milliseconds(40)) }
                lastAsked[extended] = now
            }
        }
        // Whatever is still listed is missing (given-up packets are not).
        for sequence in missing where generator.isMissing(sequence) { #expect(missing.contains(sequence)) }
    }

    @Test func givesUpAfterItsTriesAndOnLargeGaps() {
        var generator = NackGenerator()
        var buffer: [SequenceNumber] = []
        var now = ContinuousClock.now
        _ = generator.received(10, now: now)
        #expect(generator.received(12, now: now) == .gap)
        var asked = 0
        for _ in 0..<40 {
            generator.due(now: now, retry: .milliseconds(20), into: &buffer)
            asked += buffer.count
            now += .milliseconds(20)
        }
        #expect(asked == NackGenerator.maximumTries)
        #expect(generator.count == 0 && generator.givenUp == 1)
        #expect(generator.received(13 + Int64(NackGenerator.maximumGap) + 1, now: now) == .keyframeNeeded)
        #expect(generator.count == 0)
    }
}

@Suite struct TransportFeedbackRecorderTests {
    @Test func feedbackTellsWhatArrivedAndWhen() throws {
        let epoch = ContinuousClock.now
        var recorder = TransportFeedbackRecorder(epoch: epoch)
        // 65534, 65535, (0 lost), 1 arrive 5 ms apart, then 3 (2 lost, reported once 3 is in).
        let arrivals: [(UInt16, Int)] = [(65534, 100), (65535, 105), (1, 115), (3, 125)]
        for (sequence, ms) in arrivals { recorder.record(sequence, at: epoch + .milliseconds(ms)) }
        let packets = recorder.feedback(senderSSRC: 1, mediaSSRC: 2)
        let feedback = try #require(packets.first)
        #expect(packets.count == 1)
        #expect(feedback.baseSequence == 65534)
        #expect(feedback.arrivals.map { $0 != nil } == [true, true, false, true, false, true])
        // Ticks of 250 µs: 5 ms apart is 20 ticks.
        let ticks = feedback.arrivals.compactMap { $0 }
        #expect(zip(ticks, ticks.dropFirst()).map { $1 - $0 } == [20, 40, 40])
        // Read back from the wire, the same.
        let wire = RTCPCompound.serialize([.transportFeedback(feedback)])
        #expect(try wire.withUnsafeBytes { try RTCPCompound.parse($0) } == [.transportFeedback(feedback)])
        // Nothing new: no feedback; the next starts after what was reported.
        #expect(recorder.feedback(senderSSRC: 1, mediaSSRC: 2).isEmpty)
        recorder.record(4, at: epoch + .milliseconds(130))
        #expect(recorder.feedback(senderSSRC: 1, mediaSSRC: 2).first?.baseSequence == 4)
        #expect(recorder.feedback(senderSSRC: 1, mediaSSRC: 2).isEmpty)
    }

    @Test func aDeltaTooLargeForTwoBytesStartsANewPacket() {
        let epoch = ContinuousClock.now
        var recorder = TransportFeedbackRecorder(epoch: epoch)
        recorder.record(1, at: epoch)
        recorder.record(2, at: epoch + .seconds(9))  // 36,000 ticks: more than Int16 holds
        let packets = recorder.feedback(senderSSRC: 1, mediaSSRC: 2)
        #expect(packets.map(\.baseSequence) == [1, 2])
        #expect(packets.map(\.feedbackCount) == [0, 1])
    }
}

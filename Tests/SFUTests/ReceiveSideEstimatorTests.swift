// REMB for goog-remb-only publishers: the delay trend against synthetic arrival sequences
// (steady, a queue building, draining), the AIMD estimate on top (bounded by what arrives,
// down at once on overuse, up again after), send-time unwrapping, and a REMB-only publisher
// over the in-memory network getting REMB for its SSRCs while a transport-cc one does not.

import Testing
import RTP
@testable import SFU
import SFUTesting

/// A publisher sending 30 frames a second of `bytesPerFrame` in 2 packets, whose packets
/// arrive with `queueGrowthMs` more delay every frame than the frame before (0: a clear path).
private struct SyntheticLink {
    var estimator: ReceiveSideEstimator
    let start: ContinuousClock.Instant
    var frame = 0
    var delayMs = 20.0
    var rembs: [UInt64] = []

    init() {
        start = ContinuousClock.now
        estimator = ReceiveSideEstimator(now: start)
    }

    /// Runs `seconds` of frames; returns the estimate at the end.
    mutating func run(seconds: Double, bytesPerFrame: Int, queueGrowthMs: Double) -> Double? {
        let frames = Int(seconds * 30)
        for _ in 0..<frames {
            let sendMs = Double(frame) * 1000 / 30
            delayMs = max(20, delayMs + queueGrowthMs)
            for packet in 0..<2 {
                let send = sendMs + Double(packet)
                let arrival = start + .microseconds(Int64((send + delayMs) * 1000))
                estimator.packet(bytes: bytesPerFrame / 2, sendMs: send, now: arrival)
                if estimator.needsEvaluation(now: arrival), let remb = estimator.update(now: arrival) { rembs.append(remb) }
            }
            frame += 1
        }
        return estimator.estimate
    }
}

@Suite struct ReceiveSideEstimatorTests {
    /// 500 kbit/s: 30 frames of ~2083 bytes.
    static let frameBytes = 2083

    @Test func aClearPathClimbsButStaysTiedToWhatArrives() throws {
        var link = SyntheticLink()
        let estimateEstimate = link.run(seconds: 6, bytesPerFrame: Self.frameBytes, queueGrowthMs: 0)
        let estimate = try #require(estimateEstimate)
        #expect(link.estimator.trend.signal == .normal)
        #expect(estimate > 500_000, "normal use lets the estimate grow above what arrives")
        #expect(estimate <= 1.5 * 500_000 + 10_000 + 20_000, "but not beyond the headroom")
        // Once a second on a steady path, not more.
        #expect((4...7).contains(link.rembs.count), "\(link.rembs.count) REMBs in 6 s")
    }

    @Test func aGrowingQueueIsOveruseAndTheEstimateDropsAtOnce() throws {
        var link = SyntheticLink()
        let beforeEstimate = link.run(seconds: 4, bytesPerFrame: Self.frameBytes, queueGrowthMs: 0)
        let before = try #require(beforeEstimate)
        let sent = link.rembs.count
        // The bottleneck holds back 3 ms more every frame: the queue builds.
        let afterEstimate = link.run(seconds: 1, bytesPerFrame: Self.frameBytes, queueGrowthMs: 3)
        let after = try #require(afterEstimate)
        #expect(link.estimator.trend.signal == .overusing)
        #expect(after <= 0.86 * 500_000 + 1, "down to 85 % of what arrives, from \(before)")
        #expect(link.rembs.count > sent && link.rembs.last.map { Double($0) } == after, "an urgent REMB went out")
    }

    @Test func afterCongestionTheEstimateRecovers() throws {
        var link = SyntheticLink()
        _ = link.run(seconds: 3, bytesPerFrame: Self.frameBytes, queueGrowthMs: 0)
        let lowEstimate = link.run(seconds: 1, bytesPerFrame: Self.frameBytes, queueGrowthMs: 3)
        let low = try #require(lowEstimate)
        // The queue drains, then the path is clear again.
        _ = link.run(seconds: 1, bytesPerFrame: Self.frameBytes, queueGrowthMs: -3)
        let recoveredEstimate = link.run(seconds: 5, bytesPerFrame: Self.frameBytes, queueGrowthMs: 0)
        let recovered = try #require(recoveredEstimate)
        #expect(link.estimator.trend.signal == .normal)
        #expect(recovered > low * 1.2, "from \(low) back up to \(recovered)")
    }

    @Test func nothingIsReportedBeforeASecondOfPackets() {
        var link = SyntheticLink()
        _ = link.run(seconds: 0.9, bytesPerFrame: Self.frameBytes, queueGrowthMs: 0)
        #expect(link.rembs.isEmpty && link.estimator.estimate == nil)
    }
}

@Suite struct SendClockTests {
    /// The send time `clock` reads from a packet built with these fields.
    private func read(
        _ clock: inout SendClock, ssrc: UInt32 = 7, timestamp: UInt32 = 0, absSendTime: UInt32? = nil,
        timingStream: (ssrc: UInt32, clockRate: UInt32)? = nil
    ) throws -> Double? {
        var buffer = [UInt8](repeating: 0, count: 64)
        return try buffer.withUnsafeMutableBytes { slot in
            var length = RTPHeaderWriter.writeFixedHeader(
                marker: false, payloadType: 96, sequenceNumber: SequenceNumber(1), timestamp: RTPTimestamp(rawValue: timestamp),
                ssrc: ssrc, into: slot)
            if let t = absSendTime {
                var writer = OneByteExtensionWriter(packet: slot, headerLength: length)
                let data: [UInt8] = [UInt8(t >> 16 & 0xFF), UInt8(t >> 8 & 0xFF), UInt8(t & 0xFF)]
                _ = data.withUnsafeBytes { writer.append(id: 3, data: $0) }
                length = writer.finish()
            }
            slot[length] = 0xAB  // one byte of payload
            let packet = try RTPPacket(parsing: UnsafeRawBufferPointer(rebasing: slot[0..<(length + 1)]))
            return clock.sendMilliseconds(of: packet, timingStream: timingStream)
        }
    }

    @Test func absSendTimeIsUnwrappedAcrossItsSixtyFourSeconds() throws {
        var clock = SendClock(absSendTimeID: 3)
        let tenMs: UInt32 = (1 << 18) / 100
        let atTheWrap = try read(&clock, absSendTime: (1 << 24) - tenMs)
        #expect(atTheWrap == 0)
        let afterRead = try read(&clock, absSendTime: tenMs)
        let after = try #require(afterRead)
        #expect(abs(after - 20) < 0.01, "20 ms later, across the wrap: \(after)")
        // Without the extension the packet has no send time.
        let withoutTheExtension = try read(&clock)
        #expect(withoutTheExtension == nil)
    }

    @Test func withoutAbsSendTimeOneVideoStreamsTimestampsServe() throws {
        var clock = SendClock()
        let stream = (ssrc: UInt32(7), clockRate: UInt32(90_000))
        let first = try read(&clock, timestamp: UInt32.max - 2999, timingStream: stream)
        #expect(first == 0)
        let laterRead = try read(&clock, timestamp: 3000, timingStream: stream)
        let later = try #require(laterRead)
        #expect(abs(later - 1000.0 / 15) < 1e-9, "6000 ticks of 90 kHz across the wrap: \(later)")
        let anotherStream = try read(&clock, ssrc: 8, timestamp: 9, timingStream: stream)
        #expect(anotherStream == nil)
    }
}

@Suite struct RembTests {
    /// A publisher whose video negotiated `feedback` (and transport-cc's extension with it when
    /// asked), sending two seconds of frames.
    private func publisherReceives(feedback: RTCPFeedback) throws -> (rembs: [ReceiverEstimatedMaxBitrate], call: CallFixture) {
        let call = try CallFixture(connect: false)
        var video = CallFixture.publishedTracks[1]
        video.feedback = feedback
        if feedback.contains(.transportCC) { video.transportSequenceExtensionID = 5 }
        let answer = try call.core.publish(
            room: CallFixture.room, participantID: CallFixture.publisherID, identity: "Alice", remote: call.publisher.offer,
            tracks: [CallFixture.publishedTracks[0], video], now: call.net.now)
        try call.net.connect(call.publisher, answer: answer)
        try call.sendVideoFrame(keyframe: true)
        for _ in 0..<60 {
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
        }
        let rembs = call.publisher.rtcp.compactMap { if case .remb(let remb) = $0 { remb } else { nil } }
        return (rembs, call)
    }

    @Test func aRembOnlyPublisherIsToldWhatItsUplinkCarries() throws {
        let (rembs, call) = try publisherReceives(feedback: [.nack, .pli, .remb])
        let last = try #require(rembs.last)
        #expect(last.ssrcs.contains(CallFixture.videoSSRC))
        #expect(last.bitrate >= 30_000)
        #expect(call.core.statsSnapshot.feedback(.rembSent) == rembs.count)
    }

    @Test func aTransportCCPublisherGetsNoRemb() throws {
        let (rembs, call) = try publisherReceives(feedback: [.nack, .pli, .remb, .transportCC])
        #expect(rembs.isEmpty)
        #expect(call.core.statsSnapshot.feedback(.rembSent) == 0)
    }
}

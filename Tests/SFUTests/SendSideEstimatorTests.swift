// A subscriber's downlink estimate from its transport-cc feedback: against synthetic feedback
// for a clear path, a bottleneck whose queue grows, heavy loss and recovery; and over the
// in-memory network, a subscriber's feedback on what it received showing up in the room state.

import Testing
import ICE
import RTP
@testable import SFU
import SFUTesting

/// Chorus sending ~960 kbit/s (30 frames of 4 × 1000 bytes) through a link of `capacity`
/// bit/s with 20 ms of base delay, `lossEvery`-th packets lost; feedback every 100 ms.
private struct SyntheticDownlink {
    var estimator: SendSideEstimator
    let start = ContinuousClock.now
    var sequence: UInt16 = 65_000  // wraps in every test
    var elapsedMs = 0.0
    var linkFreeAtMs = 0.0
    var pending: [(sequence: UInt16, arrivalMs: Double?)] = []
    var feedbackCount: UInt8 = 0
    /// Every n-th feedback is lost on the way back (0: none).
    var feedbackLostEvery = 0

    init() {
        estimator = SendSideEstimator(now: start)
    }

    mutating func run(seconds: Double, capacity: Double, lossEvery: Int = 0) -> Double? {
        let frames = Int(seconds * 30)
        for _ in 0..<frames {
            for _ in 0..<4 {
                let now = start + .microseconds(Int64(elapsedMs * 1000))
                estimator.sent(sequence: sequence, bytes: 1000, at: now)
                // The bottleneck serialises packets at its capacity; the queue is what waits.
                let departure = max(elapsedMs, linkFreeAtMs) + 1000 * 8 / capacity * 1000
                linkFreeAtMs = departure
                let lost = lossEvery > 0 && Int(sequence) % lossEvery == 0
                pending.append((sequence, lost ? nil : departure + 20))
                sequence &+= 1
                elapsedMs += 1000.0 / 30 / 4
            }
            if pending.count >= 12 { sendFeedback() }
        }
        return estimator.estimate
    }

    /// Feedback on everything pending that has arrived by now, as a subscriber sends it.
    mutating func sendFeedback() {
        let arrived = pending.filter { ($0.arrivalMs ?? 0) <= elapsedMs }
        guard let first = arrived.first else { return }
        pending.removeFirst(arrived.count)
        let arrivals: [Int64?] = arrived.map { $0.arrivalMs.map { Int64($0 * 4) } }
        let feedback = TransportFeedback(
            senderSSRC: 1, mediaSSRC: 2, baseSequence: first.sequence, feedbackCount: feedbackCount, referenceTime: 0,
            arrivals: arrivals)
        feedbackCount &+= 1
        if feedbackLostEvery > 0, Int(feedbackCount) % feedbackLostEvery == 0 { return }
        estimator.feedback(feedback, now: start + .microseconds(Int64(elapsedMs * 1000)))
    }
}

@Suite struct SendSideEstimatorTests {
    @Test func lostFeedbackIsNeitherLossNorALowerThroughput() throws {
        // Half the feedback lost on the subscriber's uplink (a publisher's media filling it):
        // the downlink is as clear as ever, and the estimate must say so.
        var clear = SyntheticDownlink()
        let clearEstimate = clear.run(seconds: 8, capacity: 5_000_000)
        let reference = try #require(clearEstimate)
        var link = SyntheticDownlink()
        link.feedbackLostEvery = 2
        let lossyEstimate = link.run(seconds: 8, capacity: 5_000_000)
        let estimate = try #require(lossyEstimate)
        #expect(estimate >= 0.9 * reference, "\(estimate) with half the feedback lost, \(reference) with all of it")
        #expect(link.estimator.lossFraction == 0)
    }

    @Test func aClearPathClimbsAboveWhatIsSentButStaysNearIt() throws {
        var link = SyntheticDownlink()
        let estimateRun = link.run(seconds: 6, capacity: 10_000_000)
        let estimate = try #require(estimateRun)
        #expect(link.estimator.trend.signal == .normal)
        #expect(estimate > 900_000 && estimate <= 1.5 * 960_000 + 10_000 + 50_000, "\(estimate)")
    }

    @Test func aBottleneckIsFoundFromTheGrowingQueue() throws {
        var link = SyntheticDownlink()
        _ = link.run(seconds: 3, capacity: 10_000_000)
        // The downlink drops to 500 kbit/s: the queue grows with every frame.
        let estimateRun = link.run(seconds: 2, capacity: 500_000)
        let estimate = try #require(estimateRun)
        #expect(estimate < 600_000, "the estimate follows the bottleneck down: \(estimate)")
    }

    @Test func heavyLossBacksOffAndItsEndLetsTheEstimateRecover() throws {
        var link = SyntheticDownlink()
        let clearRun = link.run(seconds: 3, capacity: 10_000_000)
        let clear = try #require(clearRun)
        let lossyRun = link.run(seconds: 2, capacity: 10_000_000, lossEvery: 5)
        let lossy = try #require(lossyRun)  // 20 % lost
        #expect(link.estimator.lossFraction > 0.1)
        #expect(lossy < clear * 0.8, "20 % loss: from \(clear) to \(lossy)")
        let recoveredRun = link.run(seconds: 4, capacity: 10_000_000)
        let recovered = try #require(recoveredRun)
        #expect(recovered > lossy, "loss ended: from \(lossy) back to \(recovered)")
    }

    @Test func someLossHoldsTheEstimateAtWhatGotThroughAndFlagsNoCongestion() throws {
        // 5 % lost (GoogCC's hold zone): no back-off and no congestion, but no more than what
        // was acknowledged either.
        var link = SyntheticDownlink()
        let lossyRun = link.run(seconds: 4, capacity: 10_000_000, lossEvery: 20)
        let estimate = try #require(lossyRun)
        #expect(link.estimator.lossFraction > 0.02 && link.estimator.lossFraction < 0.1)
        #expect(!link.estimator.congested)
        #expect(estimate <= link.estimator.delivered)
        #expect(estimate > 0.8 * link.estimator.delivered, "held, not backed off: \(estimate) of \(link.estimator.delivered)")
        // 20 % for a couple of seconds is congestion.
        _ = link.run(seconds: 2.5, capacity: 10_000_000, lossEvery: 5)
        #expect(link.estimator.congested)
    }

    @Test func theSubscribersRembCapsTheEstimate() throws {
        var link = SyntheticDownlink()
        _ = link.run(seconds: 3, capacity: 10_000_000)
        link.estimator.remb(300_000)
        #expect(link.estimator.estimate == 300_000)
    }
}

@Suite struct SubscriberBandwidthTests {
    @Test func aSubscribersFeedbackBecomesItsAvailableBitrate() throws {
        let call = try CallFixture(connect: false)
        try call.connectPublisher()
        var slots = CallFixture.subscriberSlots
        for i in slots.indices { slots[i].transportSequenceExtensionID = 5 }
        let (answer, tracks) = try call.core.subscribe(
            room: CallFixture.room, participantID: CallFixture.publisherID, subscriptionID: CallFixture.subscriptionID,
            identity: "Bob", remote: call.subscriber.offer, slots: slots, now: call.net.now)
        call.setOutgoing(tracks)
        try call.net.connect(call.subscriber, answer: answer)
        try call.sendVideoFrame(keyframe: true)
        for _ in 0..<40 {
            call.net.advance(by: .milliseconds(33))
            try call.sendVideoFrame(keyframe: false)
        }
        // The subscriber reports every packet it got, by the transport-wide number Chorus wrote.
        let received = call.subscriber.rtp(ssrc: call.videoTrack.ssrc)
        let sequences = received.compactMap { $0.extensions[5] }.map { UInt16($0[0]) << 8 | UInt16($0[1]) }
        try #require(sequences.count == received.count && sequences.count > 40, "every packet carries the number")
        // Two feedbacks a second apart (the first second only measures).
        let half = sequences.count / 2
        for (index, part) in [sequences[..<half], sequences[half...]].enumerated() {
            let first = try #require(part.first)
            let arrivals: [Int64?] = part.indices.map { Int64($0) * 33 * 4 / 2 }  // spread as they came
            let feedback = TransportFeedback(
                senderSSRC: 0xBB, mediaSSRC: call.videoTrack.ssrc, baseSequence: first, feedbackCount: UInt8(index),
                referenceTime: 0, arrivals: arrivals)
            #expect(call.core.roomState(CallFixture.room)?.participants.first?.subscriptions.first?.availableBitrate == nil)
            try call.subscriber.transport.sendRTCP([.transportFeedback(feedback)])
            call.net.advance(by: .milliseconds(1100))
        }
        let available = try #require(call.core.roomState(CallFixture.room)?.participants.first?.subscriptions.first?.availableBitrate)
        #expect(available >= 30_000)
    }
}

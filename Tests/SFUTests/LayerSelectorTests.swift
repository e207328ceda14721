// The layer switch state machine: one layer out at a time, switches only on the target layer's
// keyframe (asked for), the old layer flowing until then, numbers continuous across switches.

import RTP
import Testing
@testable import SFU

@Suite struct LayerSelectorTests {
    static let start = ContinuousClock.now
    static let clockRate: UInt32 = 90_000
    /// 30 fps at 90 kHz.
    static let frame: UInt32 = 3000

    /// A publisher's three layers, each with its own random-looking numbering, sending one
    /// packet per frame (enough for the numbers; real frames span several packets).
    struct Publisher {
        var sequences: [UInt16] = [65_530, 1_000, 40_000]  // layer 0 wraps during the tests
        var timestamps: [UInt32] = [4_294_960_000, 100_000, 2_000_000_000]
        var reports: [SenderReportClock?] = [nil, nil, nil]

        /// Every layer's sender report at the same instant, with their timestamps of now.
        mutating func sendReports(ntp: UInt64) {
            for layer in 0..<3 { reports[layer] = SenderReportClock(ntp: ntp, rtp: RTPTimestamp(rawValue: timestamps[layer])) }
        }

        mutating func packet(_ layer: Int) -> (SequenceNumber, RTPTimestamp) {
            sequences[layer] &+= 1
            return (SequenceNumber(sequences[layer]), RTPTimestamp(rawValue: timestamps[layer]))
        }

        /// The next frame on every layer (same capture instant).
        mutating func nextFrame() {
            for layer in 0..<3 { timestamps[layer] &+= LayerSelectorTests.frame }
        }
    }

    struct Run {
        var selector = LayerSelector(target: 2, initialSequence: 500, initialTimestamp: RTPTimestamp(rawValue: 7_000))
        var publisher = Publisher()
        var now = LayerSelectorTests.start
        var sent: [(layer: Int, sequence: SequenceNumber, timestamp: RTPTimestamp)] = []
        var keyframeRequests: [Int] = []

        /// One frame: a packet on each layer, keyframes where asked. Returns the decisions.
        @discardableResult
        mutating func frame(keyframes: Set<Int> = []) -> [LayerSelector.Decision] {
            var decisions: [LayerSelector.Decision] = []
            for layer in 0..<3 {
                let (sequence, timestamp) = publisher.packet(layer)
                let reports = publisher.reports
                let decision = selector.decide(
                    layer: layer, sequence: sequence, timestamp: timestamp, isKeyframe: keyframes.contains(layer), now: now,
                    clockRate: LayerSelectorTests.clockRate, clock: { reports[$0] })
                switch decision {
                case .forward(let s, let t): sent.append((layer, s, t))
                case .dropAndRequestKeyframe(let wanted): keyframeRequests.append(wanted)
                case .drop: break
                }
                decisions.append(decision)
            }
            publisher.nextFrame()
            now += .milliseconds(33)
            return decisions
        }

        /// Outgoing numbers never jump: each packet is the next sequence number, and each new
        /// frame's timestamp is one frame on.
        func expectContinuous(sourceLocation: SourceLocation = #_sourceLocation) {
            for (previous, next) in zip(sent, sent.dropFirst()) {
                #expect(next.sequence == previous.sequence &+ 1, sourceLocation: sourceLocation)
                #expect(previous.timestamp.distance(to: next.timestamp) == Int64(LayerSelectorTests.frame), sourceLocation: sourceLocation)
            }
        }
    }

    @Test func startsOnlyOnAKeyframe() {
        var run = Run()
        run.frame()
        run.frame()
        #expect(run.sent.isEmpty)
        #expect(run.keyframeRequests == [2, 2], "the target layer's keyframe is asked for")
        #expect(run.selector.current == nil)
        run.frame(keyframes: [2])
        #expect(run.sent.map(\.layer) == [2])
        #expect(run.sent[0].sequence == 500 && run.sent[0].timestamp == RTPTimestamp(rawValue: 7_000))
        run.frame()
        run.frame()
        #expect(run.sent.map(\.layer) == [2, 2, 2])
        run.expectContinuous()
    }

    @Test func aLowerLayerMayStartTheStreamThenTheTargetTakesOver() {
        var run = Run()
        run.frame(keyframes: [0])
        #expect(run.selector.current == 0, "started on the first keyframe below the target")
        run.frame()
        run.frame(keyframes: [2])
        #expect(run.selector.current == 2)
        // Layer 0's packet of the third frame went first, then layer 2's keyframe of the same
        // instant took over: one tick later, so that it is a new frame to the receiver.
        #expect(run.sent.map(\.layer) == [0, 0, 0, 2])
        #expect(zip(run.sent, run.sent.dropFirst()).map { $0.timestamp.distance(to: $1.timestamp) } == [3000, 3000, 1])
        #expect(zip(run.sent, run.sent.dropFirst()).allSatisfy { $1.sequence == $0.sequence &+ 1 })
    }

    @Test func aSwitchWaitsForTheTargetsKeyframeWhileTheOldLayerFlows() {
        var run = Run()
        run.publisher.sendReports(ntp: 0xE000_0000_0000_0000)
        run.frame(keyframes: [2])
        run.frame()
        #expect(run.selector.setTarget(0) == 0, "a switch needs layer 0's keyframe")
        run.frame()
        run.frame()
        #expect(run.sent.map(\.layer) == [2, 2, 2, 2], "layer 2 keeps flowing until layer 0's keyframe")
        #expect(run.keyframeRequests.suffix(2) == [0, 0])
        run.frame(keyframes: [1, 2])  // keyframes of other layers do not switch
        #expect(run.selector.current == 2)
        run.frame(keyframes: [0])
        run.frame()
        #expect(run.selector.current == 0)
        #expect(run.sent.map(\.layer) == [2, 2, 2, 2, 2, 0, 0])
        run.expectContinuous()
    }

    @Test func timestampsFollowTheSenderReportsWhenTheyDiffer() {
        var run = Run()
        // Layer 1's report comes half a second after layer 2's: its RTP clock is mapped by both.
        run.publisher.sendReports(ntp: 0xE000_0000_0000_0000)
        run.publisher.reports[1] = SenderReportClock(
            ntp: 0xE000_0000_8000_0000, rtp: RTPTimestamp(rawValue: run.publisher.timestamps[1] &+ 45_000))
        run.frame(keyframes: [2])
        _ = run.selector.setTarget(1)
        run.frame(keyframes: [1])
        #expect(run.sent.map(\.layer) == [2, 1])
        run.expectContinuous()
    }

    @Test func withoutSenderReportsTheWallClockCarriesTheTimestamp() {
        var run = Run()
        run.frame(keyframes: [2])
        _ = run.selector.setTarget(0)
        run.frame(keyframes: [0])
        #expect(run.sent.map(\.layer) == [2, 0])
        #expect(run.sent[1].sequence == run.sent[0].sequence &+ 1)
        // 33 ms at 90 kHz.
        #expect(run.sent[0].timestamp.distance(to: run.sent[1].timestamp) == 2970)
    }

    @Test func latePacketsOfEitherLayerAreDroppedAfterASwitch() {
        var run = Run()
        run.frame(keyframes: [2])
        _ = run.selector.setTarget(1)
        let (lateSequence, lateTimestamp) = run.publisher.packet(1)  // layer 1 before its keyframe, delivered late
        run.frame(keyframes: [1])
        #expect(run.selector.current == 1)
        let reports = run.publisher.reports
        let late = run.selector.decide(
            layer: 1, sequence: lateSequence, timestamp: lateTimestamp, isKeyframe: false, now: run.now,
            clockRate: Self.clockRate, clock: { reports[$0] })
        #expect(late == .drop, "older than the switch: it would reuse a number already sent")
        let (old, oldTimestamp) = run.publisher.packet(2)
        #expect(run.selector.decide(
            layer: 2, sequence: old, timestamp: oldTimestamp, isKeyframe: false, now: run.now, clockRate: Self.clockRate,
            clock: { reports[$0] }) == .drop)
    }

    @Test func aRestartWaitsForAKeyframeAndContinuesTheNumbers() {
        var run = Run()
        run.frame(keyframes: [2])
        run.frame()
        run.selector.restart()
        run.now += .seconds(1)
        run.frame()
        #expect(run.sent.count == 2)
        run.frame(keyframes: [2])
        #expect(run.sent.count == 3)
        #expect(run.sent[2].sequence == run.sent[1].sequence &+ 1)
        // The pause shows as time passing: 1 s + 2 × 33 ms since the last packet.
        #expect(run.sent[1].timestamp.distance(to: run.sent[2].timestamp) == Int64(90_000 + 2 * 2970))
    }

    @Test func aSingleLayerIsLayerZero() {
        var selector = LayerSelector(target: 0, initialSequence: 1, initialTimestamp: RTPTimestamp(rawValue: 1))
        #expect(selector.setTarget(0) == 0, "nothing forwarded yet: a keyframe is needed")
        let decision = selector.decide(
            layer: 0, sequence: 9, timestamp: RTPTimestamp(rawValue: 90), isKeyframe: true, now: Self.start,
            clockRate: Self.clockRate, clock: { _ in nil })
        #expect(decision == .forward(1, RTPTimestamp(rawValue: 1)))
        #expect(selector.setTarget(0) == nil)
        #expect(selector.keyframeLayer == 0)
    }
}

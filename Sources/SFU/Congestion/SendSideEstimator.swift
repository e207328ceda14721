// How much a subscriber's downlink carries: GoogCC's send side (draft-ietf-rmcat-gcc-02),
// fed by the subscriber's transport-cc feedback on the transport-wide sequence numbers Chorus
// writes into what it sends. Per packet sent: one store into a preallocated ring (sequence,
// send time, size). Per feedback (every 50-100 ms from a browser): each reported packet's
// send and arrival times go through the delay trend; the acknowledged bytes give what got
// through; the share reported lost drives the loss-based bound (§6: over 10 % lost, back off
// by half the loss; under 2 %, the delay-based estimate alone decides). A REMB from the
// subscriber caps it too. The estimate is what the layer allocator will divide among that
// subscriber's consumers (simulcast); today it is reported per transport.

import RTP

struct SendSideEstimator {
    static let capacity = 4096
    /// Loss above this share backs the estimate off; below `lowLoss` it is not a signal.
    static let highLoss = 0.10
    static let lowLoss = 0.02

    private(set) var trend = DelayTrend()
    private var rate = RateControl()
    private var acknowledged: ThroughputMeter
    private let start: ContinuousClock.Instant
    /// Per slot (sequence & mask): the extended sequence sent there, its send time and size.
    /// Times stay instants here: turning one into milliseconds costs ~900 instructions of
    /// 128-bit arithmetic, paid per feedback entry rather than per packet sent.
    private var sequences: [Int64]
    private var sendTimes: [ContinuousClock.Instant]
    private var sizes: [Int]
    private var unwrapper = SequenceNumberUnwrapper()
    private var newestSent: Int64 = 0
    /// The newest sequence number a feedback reported (extended): a later feedback starting
    /// beyond it means the ones between were lost on the way back.
    private var newestReported: Int64?
    private var lossBound: Double?
    private var lastLossDecrease: ContinuousClock.Instant?
    private var lastFeedback: ContinuousClock.Instant?
    /// Loss over the last second alone (`lossFraction` is it smoothed).
    private var recentLoss = 0.0
    static let lossHoldoff: Duration = .milliseconds(300)
    /// Packets reported lost, and reported at all, over the last second (the meter counts units).
    private var lossWindow: ThroughputMeter
    private var reportedWindow: ThroughputMeter
    private var firstFeedback: ContinuousClock.Instant?
    private(set) var lossFraction = 0.0
    /// The last feedback showed congestion: queues growing on the path, or loss above 10 %.
    private(set) var congested = false

    init(now: ContinuousClock.Instant) {
        start = now
        acknowledged = ThroughputMeter(now: now)
        lossWindow = ThroughputMeter(now: now)
        reportedWindow = ThroughputMeter(now: now)
        sequences = Array(repeating: -1, count: Self.capacity)
        sendTimes = Array(repeating: now, count: Self.capacity)
        sizes = Array(repeating: 0, count: Self.capacity)
    }

    /// Bits per second the subscriber can take; nil before its first feedback.
    var estimate: Double? {
        guard let delayBased = rate.estimate else { return nil }
        var estimate = lossBound.map { min($0, delayBased) } ?? delayBased
        // Losing more than a little (GoogCC's hold zone, 2-10 %): what was sent did not all get
        // through, so no more than what did. (Random loss on a link that is not full costs a
        // little of the estimate; the allocator only listens to it after congestion.)
        if lossFraction > Self.lowLoss, recentLoss > Self.lowLoss, delivered > 0 { estimate = min(estimate, delivered) }
        return estimate
    }

    /// Bits per second acknowledged over the last second, as of the last feedback.
    private(set) var delivered = 0.0

    @inline(__always)
    mutating func sent(sequence: UInt16, bytes: Int, at now: ContinuousClock.Instant) {
        let extended = unwrapper.unwrap(SequenceNumber(sequence))
        newestSent = max(newestSent, extended)
        let slot = Int(extended & Int64(Self.capacity - 1))
        sequences[slot] = extended
        sendTimes[slot] = now
        sizes[slot] = bytes
    }

    /// A transport-cc feedback from the subscriber.
    mutating func feedback(_ feedback: TransportFeedback, now: ContinuousClock.Instant) {
        var received = 0
        var lost = 0
        var bytes = 0
        for (offset, arrival) in feedback.arrivals.enumerated() {
            let sequence = feedback.baseSequence &+ UInt16(truncatingIfNeeded: offset)
            guard let slot = self.slot(of: sequence) else { continue }
            guard let arrival else {
                lost += 1
                continue
            }
            received += 1
            bytes += sizes[slot]
            // 250 µs ticks on the subscriber's clock; only differences matter to the trend.
            trend.packet(sendMs: (sendTimes[slot] - start).milliseconds, arrivalMs: Double(arrival) / 4)
        }
        guard received + lost > 0 else { return }
        // Packets no feedback will ever report (the feedback covering them was lost on the
        // subscriber's uplink, which a publisher sharing it may fill): unknown, so neither
        // delay nor loss, but counted as carried. Otherwise a congested uplink would read as a
        // downlink that carries little, and the subscriber's video would be taken away.
        let base = extended(feedback.baseSequence)
        if let newestReported, base > newestReported + 1 {
            for sequence in max(newestReported + 1, base - Int64(Self.capacity))..<base {
                let slot = Int(sequence & Int64(Self.capacity - 1))
                if sequences[slot] == sequence { bytes += sizes[slot] }
            }
        }
        let last = base + Int64(feedback.arrivals.count) - 1
        newestReported = max(newestReported ?? last, last)
        acknowledged.add(bytes: bytes, at: now)
        // Loss over the last second, not per feedback: drops come in bursts, and one 100 ms
        // report without any must not undo a second of heavy loss.
        lossWindow.add(bytes: lost, at: now)
        reportedWindow.add(bytes: received + lost, at: now)
        let reported = reportedWindow.bitrate(now: now)
        let windowLoss = reported > 0 ? lossWindow.bitrate(now: now) / reported : 0
        // Smoothed over ~2 s on top: 5 % random loss (Wi-Fi) puts one second in fifty above
        // 10 %, which must not read as congestion; a full link's 15-30 % gets there in a second.
        let elapsed = lastFeedback.map { min(1, (now - $0).milliseconds / 2000) } ?? 1
        lastFeedback = now
        lossFraction += (windowLoss - lossFraction) * elapsed
        recentLoss = windowLoss
        // Heavy loss is congestion when it lasts (smoothed) and still goes on (this second).
        let heavyLoss = lossFraction > Self.highLoss && windowLoss > Self.highLoss
        congested = trend.signal == .overusing || heavyLoss
        // The first second of feedback only measures: the estimate starts at what got through
        // in a whole second, not at the first 100 ms' share of it.
        let first = firstFeedback ?? now
        firstFeedback = first
        let throughput = acknowledged.bitrate(now: now)
        delivered = throughput
        guard now - first >= .seconds(1), throughput > 0 else { return }
        let delayBased = rate.update(signal: trend.signal, throughput: throughput, now: now)
        if heavyLoss {
            // GoogCC §6 backs off by half the loss, here at most once per `lossHoldoff` (ten
            // feedbacks a second would compound it tenfold), from what got through.
            if lastLossDecrease.map({ now - $0 >= Self.lossHoldoff }) ?? true {
                lossBound = min(lossBound ?? delayBased, throughput) * (1 - 0.5 * lossFraction)
                lastLossDecrease = now
            }
        } else if windowLoss < Self.lowLoss {
            // A clean second ends it at once: recovery is not held back by the smoothing.
            lossBound = nil
        }
    }

    /// The subscriber's own REMB: it can take no more than that.
    mutating func remb(_ bitrate: UInt64) {
        rate.cap(at: Double(bitrate))
    }

    /// The ring slot of a sequence we sent and still remember.
    private func slot(of sequence: UInt16) -> Int? {
        let extended = extended(sequence)
        let slot = Int(extended & Int64(Self.capacity - 1))
        return sequences[slot] == extended ? slot : nil
    }

    /// Extended against the newest sent: feedback is about the last few hundred packets.
    private func extended(_ sequence: UInt16) -> Int64 {
        let newest = newestSent
        var extended = (newest & ~0xFFFF) | Int64(sequence)
        if extended > newest + 0x8000 { extended -= 0x1_0000 } else if extended < newest - 0x8000 { extended += 0x1_0000 }
        return extended
    }
}

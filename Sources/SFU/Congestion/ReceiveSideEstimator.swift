// REMB for publishers that negotiated `goog-remb` but not transport-cc (aiortc, older clients):
// with no per-packet feedback their sender cannot see delay, so Chorus estimates what their
// uplink carries and tells them (draft-alvestrand-rmcat-remb-03). The estimate is GoogCC's
// receive side (draft-ietf-rmcat-gcc-02 §5-6): the delay trend (DelayTrend) drives an AIMD
// controller bounded by what actually arrives. Loss is left to the sender, which has our
// receiver reports.
//
// Sans-IO: the transport feeds packets and time and sends what `update` returns. Per packet it
// only adds to a preallocated ring; REMB goes out once a second, or at once when the estimate
// falls by more than 3 % (as libwebrtc's receiver does), so a sender backs off within ~200 ms.

import Glibc

struct ReceiveSideEstimator {
    static let evaluationInterval: Duration = .milliseconds(200)
    static let reportInterval: Duration = .seconds(1)
    /// A decrease beyond this fraction of the last sent value is reported at once.
    static let urgentDecrease = 0.03
    /// On overuse the estimate drops to this share of what arrives (GCC's beta).
    static let decreaseFactor = 0.85
    /// Multiplicative increase per second while the path is normal (libwebrtc: 8 %).
    static let increasePerSecond = 1.08
    /// Never above what arrives by more than this, so the estimate stays tied to reality.
    static let headroom = 1.5
    static let minimumBitrate = 30_000.0
    /// Decreases at most this often: one per overuse episode, not one per group.
    static let decreaseHoldoff: Duration = .milliseconds(300)

    private(set) var trend = DelayTrend()
    /// Bits per second; nil until a second of packets has arrived.
    private(set) var estimate: Double?

    // What arrived in the last second, in 100 ms buckets.
    private static let buckets = 10
    private static let bucketSpan: Duration = .milliseconds(100)
    private var bucketBytes: [Int]
    private var currentBucket = 0
    private var bucketStart: ContinuousClock.Instant
    private let start: ContinuousClock.Instant

    private var lastUpdate: ContinuousClock.Instant?
    private var lastDecrease: ContinuousClock.Instant?
    private var nextEvaluation: ContinuousClock.Instant
    private var lastSent: (bitrate: Double, at: ContinuousClock.Instant)?

    init(now: ContinuousClock.Instant) {
        start = now
        bucketStart = now
        nextEvaluation = now + Self.evaluationInterval
        bucketBytes = Array(repeating: 0, count: Self.buckets)
    }

    /// A packet of `bytes` arrived at `now`; `sendMs` is its send time on the sender's clock
    /// (abs-send-time, or the capture time of one video stream), nil when unknown.
    @inline(__always)
    mutating func packet(bytes: Int, sendMs: Double?, now: ContinuousClock.Instant) {
        advanceBuckets(to: now)
        bucketBytes[currentBucket] &+= bytes
        if let sendMs { trend.packet(sendMs: sendMs, arrivalMs: Self.milliseconds(now - start)) }
    }

    /// Whether `update` has anything to do yet.
    @inline(__always)
    func needsEvaluation(now: ContinuousClock.Instant) -> Bool { now >= nextEvaluation }

    /// Bits per second arriving over the last second.
    mutating func incomingBitrate(now: ContinuousClock.Instant) -> Double {
        advanceBuckets(to: now)
        var total = 0
        for bytes in bucketBytes { total += bytes }
        return Double(total) * 8
    }

    /// Moves the estimate on; returns the bitrate to send as REMB when one is due.
    mutating func update(now: ContinuousClock.Instant) -> UInt64? {
        nextEvaluation = now + Self.evaluationInterval
        let incoming = incomingBitrate(now: now)
        // The first second only measures.
        guard now - start >= .seconds(1), incoming > 0 else { return nil }
        var estimate = self.estimate ?? incoming
        let elapsed = Self.seconds(now - (lastUpdate ?? now))
        lastUpdate = now
        switch trend.signal {
        case .overusing:
            if lastDecrease.map({ now - $0 >= Self.decreaseHoldoff }) ?? true {
                estimate = min(estimate, Self.decreaseFactor * incoming)
                lastDecrease = now
            }
        case .underusing:
            // Queues drain: hold, the backlog is what arrives now.
            break
        case .normal:
            estimate *= Glibc.pow(Self.increasePerSecond, elapsed)
        }
        estimate = min(estimate, Self.headroom * incoming + 10_000)
        estimate = max(estimate, Self.minimumBitrate)
        self.estimate = estimate

        let due: Bool
        if let last = lastSent {
            due = now - last.at >= Self.reportInterval || estimate < last.bitrate * (1 - Self.urgentDecrease)
        } else {
            due = true
        }
        guard due else { return nil }
        lastSent = (estimate, now)
        return UInt64(estimate)
    }

    private mutating func advanceBuckets(to now: ContinuousClock.Instant) {
        // A long silence clears the whole ring at once rather than bucket by bucket.
        if now - bucketStart >= Self.bucketSpan * Self.buckets {
            for i in bucketBytes.indices { bucketBytes[i] = 0 }
            bucketStart = now
            return
        }
        while now - bucketStart >= Self.bucketSpan {
            bucketStart += Self.bucketSpan
            currentBucket = (currentBucket + 1) % Self.buckets
            bucketBytes[currentBucket] = 0
        }
    }

    static func milliseconds(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) * 1e-15
    }

    static func seconds(_ d: Duration) -> Double { milliseconds(d) / 1000 }
}

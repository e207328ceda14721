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

struct ReceiveSideEstimator {
    static let evaluationInterval: Duration = .milliseconds(200)
    static let reportInterval: Duration = .seconds(1)
    /// A decrease beyond this fraction of the last sent value is reported at once.
    static let urgentDecrease = 0.03

    private(set) var trend = DelayTrend()
    private var rate = RateControl()
    /// Bits per second; nil until a second of packets has arrived.
    var estimate: Double? { rate.estimate }

    private var incoming: ThroughputMeter
    private let start: ContinuousClock.Instant

    private var nextEvaluation: ContinuousClock.Instant
    private var lastSent: (bitrate: Double, at: ContinuousClock.Instant)?

    init(now: ContinuousClock.Instant) {
        start = now
        incoming = ThroughputMeter(now: now)
        nextEvaluation = now + Self.evaluationInterval
    }

    /// A packet of `bytes` arrived at `now`; `sendMs` is its send time on the sender's clock
    /// (abs-send-time, or the capture time of one video stream), nil when unknown.
    @inline(__always)
    mutating func packet(bytes: Int, sendMs: Double?, now: ContinuousClock.Instant) {
        incoming.add(bytes: bytes, at: now)
        if let sendMs { trend.packet(sendMs: sendMs, arrivalMs: (now - start).milliseconds) }
    }

    /// Whether `update` has anything to do yet.
    @inline(__always)
    func needsEvaluation(now: ContinuousClock.Instant) -> Bool { now >= nextEvaluation }

    /// Moves the estimate on; returns the bitrate to send as REMB when one is due.
    mutating func update(now: ContinuousClock.Instant) -> UInt64? {
        nextEvaluation = now + Self.evaluationInterval
        let arriving = incoming.bitrate(now: now)
        // The first second only measures.
        guard now - start >= .seconds(1), arriving > 0 else { return nil }
        let estimate = rate.update(signal: trend.signal, throughput: arriving, now: now)

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
}

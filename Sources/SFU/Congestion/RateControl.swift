// GoogCC's AIMD rate controller (draft-ietf-rmcat-gcc-02 §5.5, as libwebrtc's
// AimdRateControl): what the delay trend says, applied to an estimate that stays tied to what
// actually got through. Shared by both estimators: the receive side (REMB to publishers) and
// the send side (each subscriber's downlink, from its transport-cc feedback).

import Glibc

struct RateControl {
    /// On overuse the estimate drops to this share of what got through (GCC's beta).
    static let decreaseFactor = 0.85
    /// Multiplicative increase per second while the path is normal (libwebrtc: 8 %).
    static let increasePerSecond = 1.08
    /// Never above what gets through by more than this, so the estimate stays tied to reality.
    static let headroom = 1.5
    static let minimumBitrate = 30_000.0
    /// Decreases at most this often: one per overuse episode, not one per group.
    static let decreaseHoldoff: Duration = .milliseconds(300)

    /// Bits per second; nil until the first update with traffic.
    private(set) var estimate: Double?
    private var lastUpdate: ContinuousClock.Instant?
    private var lastDecrease: ContinuousClock.Instant?

    /// One step: the trend's signal and the bitrate that got through lately.
    mutating func update(signal: DelayTrend.Signal, throughput: Double, now: ContinuousClock.Instant) -> Double {
        var estimate = self.estimate ?? throughput
        let elapsed = (now - (lastUpdate ?? now)).milliseconds / 1000
        lastUpdate = now
        switch signal {
        case .overusing:
            if lastDecrease.map({ now - $0 >= Self.decreaseHoldoff }) ?? true {
                estimate = min(estimate, Self.decreaseFactor * throughput)
                lastDecrease = now
            }
        case .underusing:
            // Queues drain: hold, the backlog is what gets through now.
            break
        case .normal:
            // What got through without queues growing is proven: a probe's padding lifts the
            // estimate to it at once rather than at 8 % a second.
            estimate = max(estimate * Glibc.pow(Self.increasePerSecond, elapsed), throughput)
        }
        estimate = min(estimate, Self.headroom * throughput + 10_000)
        estimate = max(estimate, Self.minimumBitrate)
        self.estimate = estimate
        return estimate
    }

    /// A cap from elsewhere (loss, the peer's REMB): the estimate goes no higher.
    mutating func cap(at bitrate: Double) {
        if let current = estimate { estimate = max(Self.minimumBitrate, min(current, bitrate)) }
    }
}

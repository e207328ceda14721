// When to send a subscriber padding to find out whether its downlink takes more. The estimate
// stays within 1.5x of what gets through (RateControl), so a subscriber held on a low layer, or
// paused, would never see it grow enough to climb back: only traffic proves a link. When the
// allocator wants more than the estimate (`wanted`), a probe adds padding for a while so that
// media plus padding reach what the next step needs; the transport-cc feedback on it either
// shows an uncongested path (the estimate rises to what got through, the allocator steps up)
// or delay growth (the estimate falls, the probe stops). A failed probe waits twice as long
// before the next one, up to `maximumBackoff`: a link that is full is not hammered.
// Sans-IO: the allocator's figures and the time in, a padding rate out.

struct ProbeController {
    /// How long one probe lasts: the feedback of a whole throughput window (1 s) plus a margin.
    static let duration: Duration = .milliseconds(1500)
    static let initialBackoff: Duration = .seconds(2)
    static let maximumBackoff: Duration = .seconds(30)
    /// Padding at most doubles what is sent (and at least this much can be tried).
    static let minimumCeiling = 200_000.0

    private var probeEnd: ContinuousClock.Instant?
    private var estimateAtStart = 0.0
    private var target = 0.0
    private var nextProbe: ContinuousClock.Instant?
    private var backoff = initialBackoff
    /// Bits per second of padding to send now.
    private(set) var paddingRate = 0.0
    private(set) var probes = 0
    private(set) var failures = 0

    /// `wanted`: the total the allocator would need for its next step (nil: nothing wanted);
    /// `allocated`: what the media allocated now sends; `estimate`: the subscriber's estimate.
    mutating func update(wanted: Double?, allocated: Double, estimate: Double?, now: ContinuousClock.Instant) {
        if let end = probeEnd {
            let congested = estimate.map { $0 < estimateAtStart * 0.9 } ?? true
            guard now >= end || congested || wanted == nil else { return }
            finish(succeeded: !congested && (estimate ?? 0) >= target * 0.95, now: now)
        }
        guard let wanted, let estimate, wanted > estimate, now >= nextProbe ?? now else { return }
        probeEnd = now + Self.duration
        estimateAtStart = estimate
        target = wanted
        probes += 1
        // Media plus padding a little above the step, so that the estimate can reach it.
        let ceiling = max(allocated, Self.minimumCeiling)
        paddingRate = min(max(0, wanted * 1.1 - allocated), ceiling)
    }

    private mutating func finish(succeeded: Bool, now: ContinuousClock.Instant) {
        probeEnd = nil
        paddingRate = 0
        if succeeded {
            backoff = Self.initialBackoff
            nextProbe = now + .seconds(1)
        } else {
            failures += 1
            nextProbe = now + backoff
            backoff = min(backoff * 2, Self.maximumBackoff)
        }
    }

    var isProbing: Bool { probeEnd != nil }
}

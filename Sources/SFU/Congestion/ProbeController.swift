// When to send a subscriber padding to find out whether its downlink takes more. The estimate
// stays within 1.5x of what gets through (RateControl), so a subscriber held on a low layer, or
// paused, would never see it grow enough to climb back: only traffic proves a link. When the
// allocator wants more than the estimate (`wanted`), a probe adds padding for a while, at most
// half as much again as the media (and at least 100 kbit/s), so that the transport-cc feedback
// on it shows either an uncongested path (the estimate rises to what got through, and the next
// probe may follow a second later, from there) or congestion (`congestion`: the probe stops at
// once). A failed probe waits twice as long before the next one, up to `maximumBackoff`, and
// no probe starts within the current backoff of any congestion: a link that is full, whatever
// filled it, is not hammered, and the audio that still flows on it keeps its packets.
// Sans-IO: the allocator's figures, congestion and the time in, a padding rate out.

struct ProbeController {
    /// How long one probe lasts: the feedback of a whole throughput window (1 s) plus a margin.
    static let duration: Duration = .milliseconds(1500)
    static let initialBackoff: Duration = .seconds(4)
    static let maximumBackoff: Duration = .seconds(30)
    /// Padding adds at most this share of what the media sends, and at least `minimumPadding`.
    static let paddingShare = 0.5
    static let minimumPadding = 100_000.0

    private var probeEnd: ContinuousClock.Instant?
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
            guard now >= end || wanted == nil else { return }
            // Over without congestion: the path took it.
            probeEnd = nil
            paddingRate = 0
            backoff = Self.initialBackoff
            nextProbe = now + .seconds(1)
        }
        guard let wanted, let estimate, wanted > estimate, now >= nextProbe ?? now else { return }
        probeEnd = now + Self.duration
        probes += 1
        // Media plus padding a little above the step (the estimate then can reach it), within
        // the share: a large step is climbed in several probes.
        paddingRate = min(max(0, wanted * 1.1 - allocated), max(allocated * Self.paddingShare, Self.minimumPadding))
    }

    /// The subscriber's feedback showed congestion: a probe under way failed.
    mutating func congestion(now: ContinuousClock.Instant) {
        if probeEnd != nil {
            probeEnd = nil
            paddingRate = 0
            failures += 1
            backoff = min(backoff * 2, Self.maximumBackoff)
        }
        let quietUntil = now + backoff
        nextProbe = max(nextProbe ?? quietUntil, quietUntil)
    }

    var isProbing: Bool { probeEnd != nil }
}

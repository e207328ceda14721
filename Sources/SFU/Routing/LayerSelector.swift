// What a consumer sends of its producer's layers: exactly one spatial layer at a time, switched
// only on a keyframe of the target layer, with sequence numbers and timestamps rewritten so that
// the subscriber sees one continuous stream across switches, pauses and publisher restarts.
// Sans-IO: packets' layer, numbers and keyframe flag in, a decision out; no clock is read.

import RTP

/// A layer's RTP clock against the sender's wall clock, from its last sender report (RFC 3550
/// §6.4.1): the two numbers that map its timestamps onto another layer's.
struct SenderReportClock: Equatable {
    /// NTP timestamp of the report (64-bit fixed point, RFC 5905 §6).
    var ntp: UInt64
    var rtp: RTPTimestamp
}

struct LayerSelector {
    /// The layer being forwarded; nil until the first keyframe (after a start, resume or restart).
    private(set) var current: Int?
    /// The layer wanted: the subscriber's preference (later: capped by its bandwidth estimate).
    private(set) var target: Int

    private(set) var sequenceOffset: UInt16 = 0
    private(set) var timestampOffset: UInt32 = 0
    private(set) var highestOutSequence: SequenceNumber
    private(set) var lastOutTimestamp: RTPTimestamp
    private(set) var lastOutTime: ContinuousClock.Instant?
    /// The first outgoing sequence number of the current anchoring: an older one was sent with
    /// other offsets (or from another layer), so it cannot be rebuilt or be sent now.
    private(set) var anchorSequence = SequenceNumber(0)
    private(set) var hasSent = false
    /// Counts anchors (wrapping): a change tells the caller that a packet started the stream anew.
    private(set) var anchors: UInt8 = 0
    /// The next packet re-anchors on wall-clock time (a start, a resume, a new SSRC): after a
    /// pause, timestamps advance by the time that passed (RFC 3550 §5.1).
    private var resyncOnWallClock = true

    enum Decision: Equatable {
        /// Send with these numbers.
        case forward(SequenceNumber, RTPTimestamp)
        /// Not for this subscriber (another layer, a late packet of the layer switched from).
        case drop
        /// A packet of the layer this consumer waits for, but not a keyframe: drop it and ask
        /// the publisher for that layer's keyframe (throttled there).
        case dropAndRequestKeyframe(layer: Int)
    }

    /// `target` is the layer to start on; random starting points (RFC 3550 §5.1) for the
    /// outgoing numbers, so that a subscriber cannot align streams by them.
    init(target: Int, initialSequence: SequenceNumber, initialTimestamp: RTPTimestamp) {
        self.target = target
        self.highestOutSequence = initialSequence
        self.lastOutTimestamp = initialTimestamp
    }

    /// Changes the wanted layer. Returns the layer whose keyframe is needed now (the switch
    /// happens on it; until then the current layer keeps flowing), nil when none is.
    mutating func setTarget(_ layer: Int) -> Int? {
        target = layer
        return current == layer ? nil : layer
    }

    /// Start over on the next keyframe (resume after mute, the producer's new SSRC): the stream
    /// continues where it stopped, shifted by the time that passed.
    mutating func restart() {
        current = nil
        resyncOnWallClock = true
    }

    /// A packet of the current layer that was not sent (a dropped temporal layer): the ones after
    /// it move up by one, so that the subscriber sees no gap to NACK.
    mutating func skip() {
        sequenceOffset &-= 1
    }

    /// Whether a packet of the current layer is older than one already sent (a repair, a reorder).
    func isLate(_ sequence: SequenceNumber) -> Bool {
        !(sequence &+ sequenceOffset).isNewer(than: highestOutSequence)
    }

    /// The layer a subscriber's keyframe request is for: what it sees, else what it waits for.
    var keyframeLayer: Int { current ?? target }

    /// Decides one packet of `layer`. `isKeyframe` is evaluated only when a switch could happen.
    /// `clock(layer)` gives a layer's last sender report, to carry timestamps across a switch.
    mutating func decide(
        layer: Int, sequence: SequenceNumber, timestamp: RTPTimestamp, isKeyframe: @autoclosure () -> Bool,
        now: ContinuousClock.Instant, clockRate: UInt32, clock: (Int) -> SenderReportClock?
    ) -> Decision {
        if layer == current {
            let outSequence = sequence &+ sequenceOffset
            // Older than the anchor: sent before a switch under other numbers (or never sent).
            if anchorSequence.isNewer(than: outSequence) { return .drop }
            let outTimestamp = timestamp &+ timestampOffset
            note(outSequence, outTimestamp, now: now)
            return .forward(outSequence, outTimestamp)
        }
        // Before anything flows any layer up to the target may start the stream (the target's
        // keyframe may be far, or the target not sent at all); above the target only the target.
        let wanted = current == nil ? layer <= target : layer == target
        guard wanted else { return .drop }
        guard isKeyframe() else { return layer == target ? .dropAndRequestKeyframe(layer: layer) : .drop }
        anchor(layer: layer, sequence: sequence, timestamp: timestamp, now: now, clockRate: clockRate, clock: clock)
        let outSequence = sequence &+ sequenceOffset
        let outTimestamp = timestamp &+ timestampOffset
        note(outSequence, outTimestamp, now: now)
        return .forward(outSequence, outTimestamp)
    }

    @inline(__always)
    private mutating func note(_ outSequence: SequenceNumber, _ outTimestamp: RTPTimestamp, now: ContinuousClock.Instant) {
        guard outSequence.isNewer(than: highestOutSequence) else { return }
        highestOutSequence = outSequence
        lastOutTimestamp = outTimestamp
        lastOutTime = now
    }

    /// Makes `layer`'s packet the next one: the next sequence number, and a timestamp that keeps
    /// the stream's timeline. Between layers the sender reports tell how their RTP clocks relate
    /// (as mediasoup's SimulcastConsumer does); without them, or after a pause, the wall-clock
    /// time since the last packet sent. Either way the timestamp moves forward.
    private mutating func anchor(
        layer: Int, sequence: SequenceNumber, timestamp: RTPTimestamp, now: ContinuousClock.Instant, clockRate: UInt32,
        clock: (Int) -> SenderReportClock?
    ) {
        let nextSequence = hasSent ? highestOutSequence &+ 1 : highestOutSequence
        var nextTimestamp = lastOutTimestamp
        if hasSent {
            var mapped: RTPTimestamp?
            if !resyncOnWallClock, let from = current, let a = clock(from), let b = clock(layer) {
                // The same instant in both layers: a.rtp + (t - a.ntp) = b.rtp + (t - b.ntp) in
                // ticks, so a timestamp of B is one of A plus (a.rtp - b.rtp) + (b.ntp - a.ntp).
                let seconds = Double(Int64(bitPattern: b.ntp &- a.ntp)) / 4_294_967_296
                let shift = Int64((seconds * Double(clockRate)).rounded())
                let delta = a.rtp.rawValue &- b.rtp.rawValue &+ UInt32(truncatingIfNeeded: shift)
                mapped = timestamp &+ (timestampOffset &+ delta)
            }
            if let mapped, mapped.isNewer(than: lastOutTimestamp) {
                nextTimestamp = mapped
            } else {
                // No reports yet, a pause, or reports that would go back in time: the time
                // elapsed since the last packet, at least one tick (a new frame, not the old one).
                var ticks: Int64 = 1
                if let lastOutTime {
                    let elapsed = now - lastOutTime
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                    ticks = max(1, Int64(seconds * Double(clockRate)))
                }
                nextTimestamp = lastOutTimestamp &+ UInt32(truncatingIfNeeded: ticks)
            }
        }
        sequenceOffset = nextSequence.rawValue &- sequence.rawValue
        timestampOffset = nextTimestamp.rawValue &- timestamp.rawValue
        // The first packet after the anchor must count as newer than everything sent so far.
        highestOutSequence = nextSequence &- 1
        anchorSequence = nextSequence
        current = layer
        resyncOnWallClock = false
        hasSent = true
        anchors &+= 1
    }
}

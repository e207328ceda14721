// What a publisher's send-side estimator (GoogCC) needs from us: when each of its packets
// arrived, by the transport-wide sequence number it put in them (draft-holmer-rmcat-transport-
// wide-cc-extensions-01), reported every ~100 ms as transport-cc feedback. Without it a
// browser only learns of congestion from our loss reports, seconds late.
//
// Recording is per packet and allocation-free (a preallocated ring of arrival times); building
// the feedback allocates, ten times a second. `package`: the load generator's subscribers
// send the same feedback to Chorus (`chorus loadtest --transport-cc`).

import RTP

package struct TransportFeedbackRecorder {
    /// Feedback every 100 ms (libwebrtc's receiver sends every 50-250 ms depending on its
    /// bitrate); often enough for GoogCC's delay trend.
    package static let interval: Duration = .milliseconds(100)
    /// Arrivals remembered: more than 100 ms of packets at any rate a browser sends.
    static let capacity = 2048
    /// Statuses per feedback packet, so that one fits a datagram with two-byte deltas.
    static let maximumStatuses = 400

    private var unwrapper = SequenceNumberUnwrapper()
    /// Per slot (sequence & mask): the sequence held there and its arrival. Kept as instants:
    /// turning one into microseconds is 128-bit arithmetic, paid per feedback, not per packet.
    private var sequences: [Int64]
    private var arrivals: [ContinuousClock.Instant]
    private var highest: Int64 = -1
    /// The first sequence not reported yet; nil before the first packet.
    private var nextToReport: Int64?
    private var feedbackCount: UInt8 = 0
    private let epoch: ContinuousClock.Instant

    package init(epoch: ContinuousClock.Instant) {
        self.epoch = epoch
        sequences = Array(repeating: -1, count: Self.capacity)
        arrivals = Array(repeating: epoch, count: Self.capacity)
    }

    var hasUnreported: Bool { nextToReport.map { $0 <= highest } ?? false }

    /// Records an arrival; true when it is the first with nothing else waiting to be reported
    /// (the feedback timer must be put back in the worker's order then).
    @inline(__always) @discardableResult
    package mutating func record(_ sequence: UInt16, at now: ContinuousClock.Instant) -> Bool {
        let wasIdle = !hasUnreported
        let extended = unwrapper.unwrap(SequenceNumber(sequence))
        let slot = Int(extended & Int64(Self.capacity - 1))
        sequences[slot] = extended
        arrivals[slot] = now
        if nextToReport == nil { nextToReport = extended }
        // A packet from before what was reported already is not reported again.
        if let next = nextToReport, extended < next { return false }
        if extended > highest { highest = extended }
        return wasIdle && hasUnreported
    }

    /// Feedback for everything not reported yet (none when nothing arrived since): several
    /// packets when a delta does not fit two bytes or there are more statuses than one holds.
    package mutating func feedback(senderSSRC: UInt32, mediaSSRC: UInt32) -> [TransportFeedback] {
        guard var base = nextToReport, base <= highest else { return [] }
        // What fell out of the ring cannot be told.
        base = max(base, highest - Int64(Self.capacity) + 1)
        var packets: [TransportFeedback] = []
        while base <= highest {
            var statuses: [Int64?] = []
            var reference: Int32 = 0
            // Added to our tick count to get the feedback's: the reference time is in 64 ms
            // units and 24 bits on the wire, so it wraps; deltas do not change.
            var shift: Int64 = 0
            var previousTicks: Int64?
            var sequence = base
            while sequence <= highest, statuses.count < Self.maximumStatuses {
                let slot = Int(sequence & Int64(Self.capacity - 1))
                guard sequences[slot] == sequence else {
                    statuses.append(nil)
                    sequence += 1
                    continue
                }
                let elapsed = (arrivals[slot] - epoch).components
                let ticks = (elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000) / 250
                if let previous = previousTicks {
                    guard TransportFeedback.fits(delta: ticks - previous) else { break }
                } else {
                    let units = ticks / TransportFeedback.ticksPerReferenceUnit
                    reference = Int32(truncatingIfNeeded: (units << 40) >> 40)
                    shift = (Int64(reference) - units) * TransportFeedback.ticksPerReferenceUnit
                }
                statuses.append(ticks + shift)
                previousTicks = ticks
                sequence += 1
            }
            // Trailing packets not received yet are reported next time (they may still come).
            while let last = statuses.last, last == nil { statuses.removeLast() }
            guard !statuses.isEmpty else { break }
            packets.append(TransportFeedback(
                senderSSRC: senderSSRC, mediaSSRC: mediaSSRC, baseSequence: UInt16(truncatingIfNeeded: base),
                feedbackCount: feedbackCount, referenceTime: reference, arrivals: statuses))
            feedbackCount &+= 1
            base += Int64(statuses.count)
        }
        nextToReport = base
        return packets
    }
}

// Which packets of an incoming stream are missing, and when to ask the publisher for them
// again (RFC 4585 generic NACK). A gap is asked for at once, then again about once per round
// trip until the packet arrives (as itself or as RTX), a bounded number of tries pass, or it
// is too old to be useful; a gap too large to repair is a keyframe request instead.
//
// Sans-IO and preallocated: a fixed table of missing packets, filled and emptied in place.

import RTP

struct NackGenerator {
    /// A gap of more packets than this is not repaired packet by packet: the publisher is asked
    /// for a keyframe (libwebrtc's receiver gives up at 1,000; a burst that large is seconds of
    /// video on a bad link, and NACKing it floods the uplink that just lost it).
    static let maximumGap = 300
    /// Missing packets tracked at once (the rest, oldest first, are given up).
    static let capacity = 512
    /// Tries per packet (the first at once), then it is given up.
    static let maximumTries = 10
    /// Past this a retransmission comes too late for the subscribers' jitter buffers.
    static let maximumAge: Duration = .seconds(1)
    /// The least time between two NACKs of one packet, whatever the RTT says (a 1 ms RTT on
    /// loopback would otherwise ask every tick).
    static let minimumInterval: Duration = .milliseconds(20)

    private struct Entry {
        var sequence: Int64
        var firstMissed: ContinuousClock.Instant
        var nextTry: ContinuousClock.Instant
        var tries: Int
    }

    /// Missing packets in ascending sequence order; `count` of them are live.
    private var entries: [Entry]
    private(set) var count = 0
    private var highest: Int64?
    /// Packets given up (tries or age exhausted, or pushed out by newer gaps).
    private(set) var givenUp = 0

    init() {
        entries = Array(repeating: Entry(sequence: 0, firstMissed: .now, nextTry: .now, tries: 0), count: Self.capacity)
    }

    /// Forgets every gap and where the stream was (a new SSRC starts a new sequence space).
    mutating func reset() {
        count = 0
        highest = nil
    }

    enum Arrival: Equatable {
        /// Nothing to do (in order, a duplicate, or a packet that filled a gap).
        case none
        /// New gaps: send a NACK for the due entries now.
        case gap
        /// A gap too large to repair: ask for a keyframe (the table was cleared).
        case keyframeNeeded
    }

    /// A packet arrived (original or RTX-unwrapped).
    mutating func received(_ sequence: Int64, now: ContinuousClock.Instant) -> Arrival {
        guard let last = highest else {
            highest = sequence
            return .none
        }
        if sequence <= last {
            remove(sequence)
            return .none
        }
        highest = sequence
        let missing = sequence - last - 1
        guard missing > 0 else { return .none }
        if missing > Int64(Self.maximumGap) {
            givenUp += count
            count = 0
            return .keyframeNeeded
        }
        for lost in (last + 1)..<sequence { append(Entry(sequence: lost, firstMissed: now, nextTry: now, tries: 0)) }
        return .gap
    }

    /// The packets to ask for now, written into `out` (cleared first); each asked-for entry
    /// is due again after `retry` (at least `minimumInterval`). Entries past their tries or age
    /// are dropped.
    mutating func due(now: ContinuousClock.Instant, retry: Duration, into out: inout [SequenceNumber]) {
        out.removeAll(keepingCapacity: true)
        let interval = max(retry, Self.minimumInterval)
        var kept = 0
        for i in 0..<count {
            var entry = entries[i]
            if entry.tries >= Self.maximumTries || now - entry.firstMissed > Self.maximumAge {
                givenUp += 1
                continue
            }
            if entry.nextTry <= now {
                entry.tries += 1
                entry.nextTry = now + interval
                out.append(SequenceNumber(UInt16(truncatingIfNeeded: entry.sequence)))
            }
            entries[kept] = entry
            kept += 1
        }
        count = kept
    }

    /// When `due` next has something to ask for, if anything is missing.
    var nextDeadline: ContinuousClock.Instant? {
        var next: ContinuousClock.Instant?
        for i in 0..<count { next = min(next ?? entries[i].nextTry, entries[i].nextTry) }
        return next
    }

    func isMissing(_ sequence: Int64) -> Bool {
        (0..<count).contains { entries[$0].sequence == sequence }
    }

    private mutating func append(_ entry: Entry) {
        if count == Self.capacity {
            // Full: the oldest gap goes, it is the least likely to be repaired in time.
            entries.withUnsafeMutableBufferPointer { buffer in
                for i in 1..<buffer.count { buffer[i - 1] = buffer[i] }
            }
            count -= 1
            givenUp += 1
        }
        entries[count] = entry
        count += 1
    }

    private mutating func remove(_ sequence: Int64) {
        guard let index = (0..<count).first(where: { entries[$0].sequence == sequence }) else { return }
        for i in (index + 1)..<max(index + 1, count) { entries[i - 1] = entries[i] }
        count -= 1
    }
}

// Per-SSRC state of the OpenSSL SRTP backend: the packet index from a sequence number (RFC 3711
// §3.3.1, Appendix A), replay windows (§3.3.2) and the SRTCP index of every SSRC a context
// serves, in a table that allocates only when a new SSRC makes it grow, never per packet.

import CCacheHints

enum SRTPPacketIndex {
    /// The 48-bit index (ROC << 16 | SEQ) of a packet with `sequence`, and its distance from
    /// `highest`, the highest index accepted so far (RFC 3711 Appendix A: the ROC among ROC-1,
    /// ROC, ROC+1 that puts the index nearest to `highest`). While `highest` is at most 2^15 the
    /// ROC is taken as 0, as libsrtp does (srtp_rdbx_estimate_index): a stream's first packets
    /// cannot come from before a rollover, and sender and receiver must guess alike.
    @inline(__always)
    static func estimate(sequence: UInt16, highest: UInt64) -> (index: UInt64, delta: Int) {
        let s = Int(sequence)
        if highest <= 0x8000 {
            return (UInt64(sequence), s - Int(highest))
        }
        let roc = UInt32(truncatingIfNeeded: highest >> 16)
        let local = Int(UInt16(truncatingIfNeeded: highest))
        var guess = roc
        let delta: Int
        if local < 0x8000 {
            if s - local > 0x8000 {
                guess = roc &- 1
                delta = s - local - 0x1_0000
            } else {
                delta = s - local
            }
        } else if local - 0x8000 > s {
            guess = roc &+ 1
            delta = s - local + 0x1_0000
        } else {
            delta = s - local
        }
        return (UInt64(guess) << 16 | UInt64(sequence), delta)
    }
}

/// The highest index accepted on one stream and which of the `size` indices up to it were.
struct SRTPReplayWindow {
    static let size = 1024

    /// The highest index accepted (RTP: ROC << 16 | SEQ; SRTCP: the 31-bit index), 0 before the
    /// first; for outbound SRTCP, the last index sent.
    private(set) var highest: UInt64 = 0
    /// Bit `i % size` is set when index `i` (one of the `size` up to `highest`) was accepted: a
    /// ring, so that moving the window clears the bits it passes rather than shifting them all.
    private var seen = InlineArray<16, UInt64>(repeating: 0)

    /// Whether an index `delta` after `highest` is not too old: `size` or more behind is
    /// (libsrtp's srtp_rdbx_check: replay_old).
    @inline(__always)
    static func isWithinReach(delta: Int) -> Bool { delta > -size }

    /// Whether `index`, `delta` after `highest`, may be accepted: any index ahead, one inside
    /// the window when not seen yet (RFC 3711 §3.3.2).
    @inline(__always)
    func isFresh(index: UInt64, delta: Int) -> Bool {
        if delta > 0 { return true }
        guard Self.isWithinReach(delta: delta) else { return false }
        return seen[Self.word(index)] & Self.bit(index) == 0
    }

    /// Records `index`; the window moves up to it when it is ahead.
    @inline(__always)
    mutating func accept(index: UInt64, delta: Int) {
        if delta > 0 {
            if delta >= Self.size {
                seen = InlineArray(repeating: 0)
            } else {
                var passed = highest &+ 1
                for _ in 1..<delta {
                    seen[Self.word(passed)] &= ~Self.bit(passed)
                    passed &+= 1
                }
            }
            highest = index
        }
        seen[Self.word(index)] |= Self.bit(index)
    }

    /// Takes the next SRTCP index to send (libsrtp's srtp_rdb_increment: the first is 1); nil
    /// once the 31-bit index is spent, since reusing one would reuse keystream.
    @inline(__always)
    mutating func nextIndexToSend() -> UInt32? {
        guard highest < 0x7FFF_FFFF else { return nil }
        highest += 1
        return UInt32(highest)
    }

    @inline(__always) private static func word(_ index: UInt64) -> Int { Int(truncatingIfNeeded: index >> 6) & 15 }
    @inline(__always) private static func bit(_ index: UInt64) -> UInt64 { 1 << (index & 63) }
}

/// The per-SSRC state of one context: an open-addressing table (linear probing, power-of-two
/// capacity, at most half full). Lookups never allocate; `insert` allocates only when it grows.
/// A context holds it through a pointer, not as a stored `var`: a class's stored `var` costs a
/// run-time exclusivity check on every access, and this is read on every packet.
struct SRTPStreamTable {
    struct Stream {
        var ssrc: UInt32
        var rtp = SRTPReplayWindow()
        var rtcp = SRTPReplayWindow()
    }

    private static let emptyKey = UInt64.max
    private var keys: UnsafeMutablePointer<UInt64>
    private var streams: UnsafeMutablePointer<Stream>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0)
        self.capacity = capacity
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: Self.emptyKey, count: capacity)
        streams = .allocate(capacity: capacity)
    }

    func deallocate() {
        keys.deallocate()
        streams.deallocate()
    }

    /// The stream of `ssrc`, when the table has it. Valid until the next `insert`.
    @inline(__always)
    func stream(_ ssrc: UInt32) -> UnsafeMutablePointer<Stream>? {
        var slot = Self.home(ssrc, capacity)
        while true {
            let key = keys[slot]
            if key == UInt64(ssrc) { return streams + slot }
            if key == Self.emptyKey { return nil }
            slot = (slot + 1) & (capacity - 1)
        }
    }

    /// Starts loading where `ssrc`'s key and stream would be in the table, as a hint: its home
    /// slot, which holds it unless a collision moved it along.
    @inline(__always)
    func prefetch(_ ssrc: UInt32) {
        let slot = Self.home(ssrc, capacity)
        chorus_prefetch(keys + slot)
        chorus_prefetch_lines(streams + slot, 3)
    }

    /// The stream of `ssrc`, added (with nothing seen yet) when the table lacks it. Valid until
    /// the next `insert`.
    mutating func insert(_ ssrc: UInt32) -> UnsafeMutablePointer<Stream> {
        if let existing = stream(ssrc) { return existing }
        if (count + 1) * 2 > capacity { grow() }
        var slot = Self.home(ssrc, capacity)
        while keys[slot] != Self.emptyKey { slot = (slot + 1) & (capacity - 1) }
        keys[slot] = UInt64(ssrc)
        (streams + slot).initialize(to: Stream(ssrc: ssrc))
        count += 1
        return streams + slot
    }

    private mutating func grow() {
        let old = (keys: keys, streams: streams, capacity: capacity)
        capacity *= 2
        keys = .allocate(capacity: capacity)
        keys.initialize(repeating: Self.emptyKey, count: capacity)
        streams = .allocate(capacity: capacity)
        for i in 0..<old.capacity where old.keys[i] != Self.emptyKey {
            var slot = Self.home(UInt32(old.keys[i]), capacity)
            while keys[slot] != Self.emptyKey { slot = (slot + 1) & (capacity - 1) }
            keys[slot] = old.keys[i]
            (streams + slot).initialize(to: old.streams[i])
        }
        old.keys.deallocate()
        old.streams.deallocate()
    }

    /// Fibonacci hashing: SSRCs are random, but a peer may pick neighbouring ones.
    @inline(__always)
    private static func home(_ ssrc: UInt32, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(ssrc) &* 0x9E37_79B9_7F4A_7C15) >> 32) & (capacity - 1)
    }
}

// Loss and duplicate counting for one received RTP stream from its (rewritten) sequence
// numbers: unwrapped across the 16-bit wrap (RFC 3550 A.1), with a window of the last 4096
// numbers seen to tell a duplicate from a late, reordered packet.

import RTP

public struct SequenceTracker: Sendable {
    public enum Outcome: Equatable, Sendable {
        /// First time this number is seen; `expectedIncrease` is how far the expected count grew
        /// (more than 1 after a gap, 0 for a reordered packet filling one).
        case new(expectedIncrease: Int64)
        case duplicate
        /// Older than the window: cannot tell, counted as received (a reordered packet this
        /// late does not happen on loopback).
        case late
    }

    static let windowBits = 4096

    private var unwrapper = SequenceNumberUnwrapper()
    private var window = [UInt64](repeating: 0, count: windowBits / 64)
    /// Lowest and highest extended sequence number seen.
    public private(set) var first: Int64?
    public private(set) var highest: Int64 = 0
    public private(set) var received: Int64 = 0
    public private(set) var duplicates: Int64 = 0
    public private(set) var late: Int64 = 0

    public init() {}

    /// Packets between the first and the highest seen: what should have arrived.
    public var expected: Int64 { first == nil ? 0 : highest - first! + 1 }
    public var lost: Int64 { Swift.max(0, expected - received) }

    public mutating func record(_ sequenceNumber: SequenceNumber) -> Outcome {
        let index = unwrapper.unwrap(sequenceNumber)
        guard let start = first else {
            first = index
            highest = index
            mark(index)
            received = 1
            return .new(expectedIncrease: 1)
        }
        if index > highest {
            // Forget what the window held for the numbers it now covers afresh.
            let advance = index - highest
            if advance >= Int64(Self.windowBits) {
                for i in 0..<window.count { window[i] = 0 }
            } else {
                var clear = highest + 1
                while clear < index {
                    unmark(clear)
                    clear += 1
                }
            }
            highest = index
            mark(index)
            received += 1
            return .new(expectedIncrease: advance)
        }
        if index <= highest - Int64(Self.windowBits) {
            late += 1
            received += 1
            if index < start { first = index }
            return .late
        }
        if isMarked(index) {
            duplicates += 1
            return .duplicate
        }
        mark(index)
        received += 1
        if index < start {
            // Reordered before the first packet seen: the stream started earlier.
            first = index
            return .new(expectedIncrease: start - index)
        }
        return .new(expectedIncrease: 0)
    }

    @inline(__always)
    private func slot(_ index: Int64) -> (word: Int, bit: UInt64) {
        let position = Int(UInt64(bitPattern: index) % UInt64(Self.windowBits))
        return (position >> 6, 1 << UInt64(position & 63))
    }

    private mutating func mark(_ index: Int64) {
        let (word, bit) = slot(index)
        window[word] |= bit
    }

    private mutating func unmark(_ index: Int64) {
        let (word, bit) = slot(index)
        window[word] &= ~bit
    }

    private func isMarked(_ index: Int64) -> Bool {
        let (word, bit) = slot(index)
        return window[word] & bit != 0
    }
}

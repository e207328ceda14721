// Loss, duplicate and reorder counting from rewritten sequence numbers, across the 16-bit wrap,
// checked against a plain set-based model on seeded random arrivals.

import RTP
import Testing
@testable import LoadTest

@Suite struct SequenceTrackerTests {
    @Test func inOrderAcrossTheWrapLosesNothing() {
        var tracker = SequenceTracker()
        var sequence = SequenceNumber(65_530)
        for _ in 0..<20 {
            _ = tracker.record(sequence)
            sequence = sequence &+ 1
        }
        #expect(tracker.expected == 20)
        #expect(tracker.received == 20)
        #expect(tracker.lost == 0)
        #expect(tracker.duplicates == 0)
    }

    @Test func aGapAcrossTheWrapCountsAsLoss() {
        var tracker = SequenceTracker()
        #expect(tracker.record(65_534) == .new(expectedIncrease: 1))
        #expect(tracker.record(65_535) == .new(expectedIncrease: 1))
        // 0, 1 and 2 lost.
        #expect(tracker.record(3) == .new(expectedIncrease: 4))
        #expect(tracker.expected == 6)
        #expect(tracker.lost == 3)
    }

    @Test func aReorderedPacketFillsItsGap() {
        var tracker = SequenceTracker()
        _ = tracker.record(10)
        _ = tracker.record(12)
        #expect(tracker.lost == 1)
        #expect(tracker.record(11) == .new(expectedIncrease: 0))
        #expect(tracker.lost == 0)
    }

    @Test func duplicatesAreCountedOnceAndNotAsReceived() {
        var tracker = SequenceTracker()
        _ = tracker.record(65_535)
        _ = tracker.record(0)
        #expect(tracker.record(65_535) == .duplicate)
        #expect(tracker.record(0) == .duplicate)
        #expect(tracker.duplicates == 2)
        #expect(tracker.received == 2)
        #expect(tracker.lost == 0)
    }

    @Test func aPacketOlderThanTheFirstExtendsTheStream() {
        var tracker = SequenceTracker()
        _ = tracker.record(5)
        #expect(tracker.record(2) == .new(expectedIncrease: 3))
        #expect(tracker.expected == 4)
        #expect(tracker.lost == 2)
    }

    @Test func aPacketBeyondTheWindowIsLateNotDuplicate() {
        var tracker = SequenceTracker()
        var sequence = SequenceNumber(100)
        _ = tracker.record(sequence)
        for _ in 0..<(SequenceTracker.windowBits + 10) {
            sequence = sequence &+ 1
            _ = tracker.record(sequence)
        }
        #expect(tracker.record(100) == .late)
        #expect(tracker.late == 1)
        #expect(tracker.duplicates == 0)
    }

    @Test func aJumpLargerThanTheWindowForgetsOldMarks() {
        var tracker = SequenceTracker()
        _ = tracker.record(1)
        _ = tracker.record(SequenceNumber(UInt16(1 + SequenceTracker.windowBits)))
        // 1 + windowBits shares a window slot with 1; it must count as new, not duplicate.
        #expect(tracker.duplicates == 0)
        #expect(tracker.received == 2)
        #expect(tracker.lost == Int64(SequenceTracker.windowBits) - 1)
    }

    @Test func randomArrivalsMatchASetModel() {
        var generator = SplitMix64(seed: 2024)
        for round in 0..<20 {
            var tracker = SequenceTracker()
            var seen: Set<Int64> = []
            var duplicates = 0
            let start = Int64(generator.next() % 65_536)
            var next = start
            var first: Int64?
            var highest = start
            for _ in 0..<3000 {
                // Mostly in order, some losses, duplicates and short reorders, never far back.
                let roll = generator.next() % 100
                let index: Int64
                switch roll {
                case 0..<5: next += 2; index = next - 1  // one lost (maybe filled later)
                case 5..<10: index = max(start, next - Int64(generator.next() % 20))
                default: index = next
                }
                if index == next { next += 1 }
                if seen.contains(index) { duplicates += 1 } else { seen.insert(index) }
                first = min(first ?? index, index)
                highest = max(highest, index)
                _ = tracker.record(SequenceNumber(UInt16(truncatingIfNeeded: index)))
            }
            let expected = highest - first! + 1
            #expect(tracker.duplicates == Int64(duplicates), "round \(round)")
            #expect(tracker.received == Int64(seen.count), "round \(round)")
            #expect(tracker.expected == expected, "round \(round)")
            #expect(tracker.lost == expected - Int64(seen.count), "round \(round)")
        }
    }
}

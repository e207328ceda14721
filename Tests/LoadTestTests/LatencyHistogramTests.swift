// The HDR histogram: bucket layout, percentile precision within 1 %, merging and resetting.

import Testing
@testable import LoadTest

@Suite struct LatencyHistogramTests {
    @Test func emptyHistogramReportsZero() {
        let histogram = LatencyHistogram()
        #expect(histogram.count == 0)
        #expect(histogram.value(atPercentile: 50) == 0)
        #expect(histogram.mean == 0)
    }

    @Test func smallValuesAreExact() {
        var histogram = LatencyHistogram()
        for value in UInt64(0)..<128 { histogram.record(value) }
        #expect(histogram.value(atPercentile: 50) == 63)
        #expect(histogram.value(atPercentile: 100) == 127)
        #expect(histogram.min == 0)
        #expect(histogram.max == 127)
    }

    @Test func bucketsCoverEveryValueWithinOnePercent() {
        // Every power of two and its neighbours, and a seeded spread of values up to 2^40.
        var values: [UInt64] = []
        for shift in 0..<40 {
            let base = UInt64(1) << UInt64(shift)
            values += [base - 1, base, base + 1]
        }
        var generator = SplitMix64(seed: 7)
        for _ in 0..<20_000 { values.append(generator.next() % LatencyHistogram.highestTrackable) }
        for value in values {
            let index = LatencyHistogram.index(of: value)
            #expect(index >= 0 && index < LatencyHistogram.bucketCount)
            let high = LatencyHistogram.highestValue(inBucket: index)
            #expect(high >= value, "bucket \(index) ends at \(high), below \(value)")
            #expect(Double(high - value) <= Double(max(value, 1)) / 128 + 1, "bucket of \(value) is too wide")
            if index > 0 { #expect(LatencyHistogram.highestValue(inBucket: index - 1) < value) }
        }
    }

    @Test func indexIsMonotonicAcrossPowersOfTwo() {
        var previous = -1
        var value: UInt64 = 0
        while value < 1 << 20 {
            let index = LatencyHistogram.index(of: value)
            #expect(index == previous || index == previous + 1)
            previous = index
            value += 1
        }
    }

    @Test func percentilesOfAUniformSpreadAreWithinOnePercent() {
        var histogram = LatencyHistogram()
        // 1 µs ... 100 ms in 1 µs steps, shuffled by a seeded generator.
        var values = (1...100_000).map { UInt64($0) * 1000 }
        var generator = SplitMix64(seed: 42)
        values.shuffle(using: &generator)
        for value in values { histogram.record(value) }
        for percentile in [50.0, 90, 99, 99.9] {
            let exact = Double(Int((percentile / 100 * 100_000).rounded(.up))) * 1000
            let measured = Double(histogram.value(atPercentile: percentile))
            #expect(measured >= exact && measured <= exact * 1.01, "p\(percentile): \(measured) vs \(exact)")
        }
        #expect(histogram.value(atPercentile: 100) == 100_000_000)
        #expect(histogram.count == 100_000)
        #expect(abs(histogram.mean - 50_000_500) < 1)
    }

    @Test func percentileNeverExceedsTheExactMaximum() {
        var histogram = LatencyHistogram()
        histogram.record(1_000_001)
        #expect(histogram.value(atPercentile: 99.9) == 1_000_001)
    }

    @Test func hugeValuesAreClamped() {
        var histogram = LatencyHistogram()
        histogram.record(.max)
        #expect(histogram.max == LatencyHistogram.highestTrackable)
        #expect(histogram.value(atPercentile: 50) == LatencyHistogram.highestTrackable)
    }

    @Test func mergingEqualsRecordingEverythingInOne() {
        var a = LatencyHistogram(), b = LatencyHistogram(), all = LatencyHistogram()
        var generator = SplitMix64(seed: 3)
        for i in 0..<5000 {
            let value = generator.next() % 50_000_000
            if i % 3 == 0 { a.record(value) } else { b.record(value) }
            all.record(value)
        }
        a.add(b)
        #expect(a == all)
        a.reset()
        #expect(a == LatencyHistogram())
    }
}

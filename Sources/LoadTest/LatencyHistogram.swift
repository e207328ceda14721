// A small HdrHistogram (Gil Tene's log-linear layout): values in nanoseconds land in buckets
// whose width is at most 1/128 of their value, so any percentile is within 0.8 % of the true
// sample, in fixed memory and O(1) per record, for 0 ns up to 2^40 ns (18 minutes).

public struct LatencyHistogram: Equatable, Sendable {
    /// 2^7 sub-buckets per power of two: the relative bucket width is at most 2^-7.
    static let subBucketBits = 7
    static let subBucketCount = 1 << subBucketBits
    /// Larger values are recorded as this.
    public static let highestTrackable: UInt64 = (1 << 40) - 1
    static let bucketCount = index(of: highestTrackable) + 1

    private var counts: [UInt64]
    public private(set) var count: UInt64 = 0
    /// Exact, unlike the percentiles.
    public private(set) var min: UInt64 = .max
    public private(set) var max: UInt64 = 0
    private var sum: UInt64 = 0

    public init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    /// Values below 2^7 have their own bucket; above, the top 8 significant bits pick it.
    @inline(__always)
    static func index(of value: UInt64) -> Int {
        guard value >= UInt64(subBucketCount) else { return Int(value) }
        let magnitude = 63 - value.leadingZeroBitCount
        let shift = magnitude - subBucketBits
        return Int(value >> UInt64(shift)) + shift * subBucketCount
    }

    /// The largest value that lands in bucket `index` ("highest equivalent value").
    static func highestValue(inBucket index: Int) -> UInt64 {
        let shift = Swift.max(0, index / subBucketCount - 1)
        let mantissa = UInt64(index - shift * subBucketCount)
        return (mantissa << UInt64(shift)) + (1 << UInt64(shift)) - 1
    }

    @inline(__always)
    public mutating func record(_ value: UInt64) {
        let clamped = Swift.min(value, Self.highestTrackable)
        counts[Self.index(of: clamped)] &+= 1
        count &+= 1
        sum &+= clamped
        if clamped < min { min = clamped }
        if clamped > max { max = clamped }
    }

    public mutating func add(_ other: LatencyHistogram) {
        guard other.count > 0 else { return }
        for i in 0..<counts.count where other.counts[i] != 0 { counts[i] &+= other.counts[i] }
        count &+= other.count
        sum &+= other.sum
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
    }

    public mutating func reset() {
        guard count > 0 else { return }
        for i in 0..<counts.count { counts[i] = 0 }
        count = 0
        sum = 0
        min = .max
        max = 0
    }

    /// The value at `percentile` (0...100): the highest value equivalent to the sample of that
    /// rank, never above the exact maximum; 0 when empty.
    public func value(atPercentile percentile: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let fraction = Swift.min(Swift.max(percentile, 0), 100) / 100
        let rank = Swift.max(1, UInt64((fraction * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for (i, n) in counts.enumerated() where n != 0 {
            seen &+= n
            if seen >= rank { return Swift.min(Self.highestValue(inBucket: i), max) }
        }
        return max
    }

    public var mean: Double { count == 0 ? 0 : Double(sum) / Double(count) }
}

// Bits per second over the last second, from a stream of packet sizes: ten 100 ms buckets in a
// preallocated ring, so counting a packet is an add. Both estimators bound their estimate by
// it (what arrives at us, what a subscriber acknowledges).

struct ThroughputMeter {
    private static let buckets = 10
    private static let bucketSpan: Duration = .milliseconds(100)
    private var bucketBytes: [Int]
    private var currentBucket = 0
    private var bucketStart: ContinuousClock.Instant

    init(now: ContinuousClock.Instant) {
        bucketStart = now
        bucketBytes = Array(repeating: 0, count: Self.buckets)
    }

    @inline(__always)
    mutating func add(bytes: Int, at now: ContinuousClock.Instant) {
        advance(to: now)
        bucketBytes[currentBucket] &+= bytes
    }

    /// Bits per second over the last second.
    mutating func bitrate(now: ContinuousClock.Instant) -> Double {
        advance(to: now)
        var total = 0
        for bytes in bucketBytes { total += bytes }
        return Double(total) * 8
    }

    private mutating func advance(to now: ContinuousClock.Instant) {
        // A long silence clears the whole ring at once rather than bucket by bucket.
        if now - bucketStart >= Self.bucketSpan * Self.buckets {
            for i in bucketBytes.indices { bucketBytes[i] = 0 }
            bucketStart = now
            return
        }
        while now - bucketStart >= Self.bucketSpan {
            bucketStart += Self.bucketSpan
            currentBucket = (currentBucket + 1) % Self.buckets
            bucketBytes[currentBucket] = 0
        }
    }
}

extension Duration {
    /// As a floating-point number of milliseconds (the estimators' unit).
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) * 1e-15
    }
}

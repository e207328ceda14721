// The configuration every benchmark target uses: one iteration handles 1000 packets, so the
// `.kilo` scaling makes each figure per packet; short runs because the machines are shared.

import Benchmark

public func perPacketConfiguration(warmupIterations: Int, maxIterations: Int) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        // Exact counts, not thousands, so that `--scale` shows every malloc of an iteration.
        units: [.mallocCountTotal: .count],
        warmupIterations: warmupIterations,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: maxIterations)
}

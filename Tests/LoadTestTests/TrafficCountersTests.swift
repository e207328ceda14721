// Counters add up across threads and intervals; loss is a percentage of what was expected.

import Testing
@testable import LoadTest

@Suite struct TrafficCountersTests {
    @Test func addingSumsEveryFieldAndTheHistogram() {
        var a = TrafficCounters()
        a.audioPacketsReceived = 10
        a.expected = 100
        a.unique = 99
        a.latency.record(1_000_000)
        var b = TrafficCounters()
        b.videoPacketsReceived = 5
        b.expected = 100
        b.unique = 100
        b.duplicates = 2
        b.latency.record(3_000_000)
        b.sendLag.record(20_000)
        b.sendLag.record(40_000)
        a.add(b)
        #expect(a.packetsReceived == 15)
        #expect(a.lost == 1)
        #expect(a.lossPercent == 0.5)
        #expect(a.duplicates == 2)
        #expect(a.latency.count == 2)
        #expect(a.sendLag.count == 2 && a.sendLag.max >= 40_000)
        a.reset()
        #expect(a == TrafficCounters())
    }

    @Test func nothingExpectedIsNoLoss() {
        #expect(TrafficCounters().lossPercent == 0)
    }
}

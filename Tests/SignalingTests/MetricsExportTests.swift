// What the workers count reaches /metrics under the names docs/API.md gives: feedback counters
// as `chorus_feedback_total{kind}`, repairs by source, and round trips as a Prometheus
// histogram with cumulative buckets.

import SFU
import Testing
@testable import Signaling

@Suite struct MetricsExportTests {
    @Test func feedbackRepairsAndRoundTripsAreExported() {
        let metrics = ChorusMetrics()
        var snapshot = WorkerStatsSnapshot()
        snapshot.feedback[FeedbackCounter.nacksReceived.rawValue] = 7
        snapshot.feedback[FeedbackCounter.retransmittedFromCache.rawValue] = 5
        snapshot.feedback[FeedbackCounter.rtxReceived.rawValue] = 3
        snapshot.feedback[FeedbackCounter.transportFeedbackSent.rawValue] = 40
        // 2 samples at or under 10 ms, 1 under 100 ms, 1 beyond the last bound.
        snapshot.roundTripBuckets[0] = 1
        snapshot.roundTripBuckets[1] = 1
        snapshot.roundTripBuckets[4] = 1
        snapshot.roundTripBuckets[RoundTripBuckets.bounds.count] = 1
        snapshot.roundTripSum = 3.2
        snapshot.roundTripCount = 4

        let text = metrics.render(snapshot)
        #expect(text.contains("chorus_feedback_total{kind=\"nacks_received\"} 7"))
        #expect(text.contains("chorus_feedback_total{kind=\"transport_feedback_sent\"} 40"))
        #expect(text.contains("chorus_retransmitted_packets_total{source=\"cache\"} 5"))
        #expect(text.contains("chorus_retransmitted_packets_total{source=\"publisher\"} 3"))
        #expect(text.contains("chorus_rtt_seconds_bucket{le=\"0.01\"} 2"))
        #expect(text.contains("chorus_rtt_seconds_bucket{le=\"0.05\"} 2"))
        #expect(text.contains("chorus_rtt_seconds_bucket{le=\"0.1\"} 3"))
        #expect(text.contains("chorus_rtt_seconds_bucket{le=\"+Inf\"} 4"))
        #expect(text.contains("chorus_rtt_seconds_count 4"))

        // Counters move by what happened since the last scrape, never backwards.
        snapshot.feedback[FeedbackCounter.nacksReceived.rawValue] = 9
        #expect(metrics.render(snapshot).contains("chorus_feedback_total{kind=\"nacks_received\"} 9"))
    }
}

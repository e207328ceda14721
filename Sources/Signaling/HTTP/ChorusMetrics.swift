// Prometheus metrics (swift-metrics API, swift-prometheus registry). Workers count in plain
// integers on their own threads; a scrape reads a snapshot and moves the metrics forward,
// so the packet path never touches a metrics lock.

import CoreMetrics
import Prometheus
import SFU
import Synchronization

final class ChorusMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let lock = Mutex(WorkerStatsSnapshot())
    private let packetsIn: CoreMetrics.Counter
    private let bytesIn: CoreMetrics.Counter
    private let packetsOut: CoreMetrics.Counter
    private let bytesOut: CoreMetrics.Counter
    private let dropped: [CoreMetrics.Counter]
    private let transports: CoreMetrics.Gauge
    private let rooms: CoreMetrics.Gauge
    private let producers: CoreMetrics.Gauge
    private let consumers: CoreMetrics.Gauge
    private let stunHandedOff: CoreMetrics.Counter
    private let iceTCPConnections: CoreMetrics.Gauge
    private let iceTCPAccepted: CoreMetrics.Counter
    private let iceTCPRefused: CoreMetrics.Counter
    private let iceTCPHandedOff: CoreMetrics.Counter
    private let iceTCPClosed: [CoreMetrics.Counter]
    private let iceTCPFramesIn: CoreMetrics.Counter
    private let iceTCPFramesOut: CoreMetrics.Counter
    private let iceTCPDropped: [CoreMetrics.Counter]
    private let feedback: [CoreMetrics.Counter]
    private let retransmittedFromCache: CoreMetrics.Counter
    private let retransmittedByPublisher: CoreMetrics.Counter

    init() {
        let factory = PrometheusMetricsFactory(registry: registry)
        self.factory = factory
        packetsIn = CoreMetrics.Counter(label: "chorus_packets_in_total", factory: factory)
        bytesIn = CoreMetrics.Counter(label: "chorus_bytes_in_total", factory: factory)
        packetsOut = CoreMetrics.Counter(label: "chorus_packets_out_total", factory: factory)
        bytesOut = CoreMetrics.Counter(label: "chorus_bytes_out_total", factory: factory)
        dropped = DropReason.allCases.map {
            CoreMetrics.Counter(label: "chorus_packets_dropped_total", dimensions: [("reason", $0.label)], factory: factory)
        }
        transports = CoreMetrics.Gauge(label: "chorus_transports", factory: factory)
        rooms = CoreMetrics.Gauge(label: "chorus_rooms", factory: factory)
        producers = CoreMetrics.Gauge(label: "chorus_producers", factory: factory)
        consumers = CoreMetrics.Gauge(label: "chorus_consumers", factory: factory)
        stunHandedOff = CoreMetrics.Counter(label: "chorus_stun_handed_off_total", factory: factory)
        iceTCPConnections = CoreMetrics.Gauge(label: "chorus_ice_tcp_connections", factory: factory)
        iceTCPAccepted = CoreMetrics.Counter(label: "chorus_ice_tcp_connections_accepted_total", factory: factory)
        iceTCPRefused = CoreMetrics.Counter(label: "chorus_ice_tcp_connections_refused_total", factory: factory)
        iceTCPHandedOff = CoreMetrics.Counter(label: "chorus_ice_tcp_connections_handed_off_total", factory: factory)
        iceTCPClosed = ICETCPStats.CloseReason.allCases.map {
            CoreMetrics.Counter(label: "chorus_ice_tcp_connections_closed_total", dimensions: [("reason", $0.label)], factory: factory)
        }
        iceTCPFramesIn = CoreMetrics.Counter(label: "chorus_ice_tcp_frames_in_total", factory: factory)
        iceTCPFramesOut = CoreMetrics.Counter(label: "chorus_ice_tcp_frames_out_total", factory: factory)
        iceTCPDropped = ICETCPStats.DropReason.allCases.map {
            CoreMetrics.Counter(label: "chorus_ice_tcp_frames_dropped_total", dimensions: [("reason", $0.label)], factory: factory)
        }
        feedback = FeedbackCounter.allCases.map {
            CoreMetrics.Counter(label: "chorus_feedback_total", dimensions: [("kind", $0.label)], factory: factory)
        }
        // Repairs that reached subscribers, by who made them: Chorus's own history, or the
        // publisher (its RTX, unwrapped and forwarded).
        retransmittedFromCache = CoreMetrics.Counter(
            label: "chorus_retransmitted_packets_total", dimensions: [("source", "cache")], factory: factory)
        retransmittedByPublisher = CoreMetrics.Counter(
            label: "chorus_retransmitted_packets_total", dimensions: [("source", "publisher")], factory: factory)
    }

    /// Advances the counters to `snapshot` and renders the exposition text.
    func render(_ snapshot: WorkerStatsSnapshot) -> String {
        lock.withLock { last in
            packetsIn.increment(by: max(0, snapshot.packetsIn - last.packetsIn))
            bytesIn.increment(by: max(0, snapshot.bytesIn - last.bytesIn))
            packetsOut.increment(by: max(0, snapshot.packetsOut - last.packetsOut))
            bytesOut.increment(by: max(0, snapshot.bytesOut - last.bytesOut))
            for reason in DropReason.allCases {
                dropped[reason.rawValue].increment(by: max(0, snapshot.dropped(reason) - last.dropped(reason)))
            }
            transports.record(snapshot.transports)
            rooms.record(snapshot.rooms)
            producers.record(snapshot.producers)
            consumers.record(snapshot.consumers)
            stunHandedOff.increment(by: max(0, snapshot.stunHandedOff - last.stunHandedOff))
            let tcp = snapshot.iceTCP, lastTCP = last.iceTCP
            iceTCPConnections.record(tcp.open)
            iceTCPAccepted.increment(by: max(0, tcp.accepted - lastTCP.accepted))
            iceTCPRefused.increment(by: max(0, tcp.refused - lastTCP.refused))
            iceTCPHandedOff.increment(by: max(0, tcp.handedOff - lastTCP.handedOff))
            for reason in ICETCPStats.CloseReason.allCases {
                iceTCPClosed[reason.rawValue].increment(by: max(0, tcp.closed(reason) - lastTCP.closed(reason)))
            }
            iceTCPFramesIn.increment(by: max(0, tcp.framesIn - lastTCP.framesIn))
            iceTCPFramesOut.increment(by: max(0, tcp.framesOut - lastTCP.framesOut))
            for reason in ICETCPStats.DropReason.allCases {
                iceTCPDropped[reason.rawValue].increment(by: max(0, tcp.dropped(reason) - lastTCP.dropped(reason)))
            }
            for counter in FeedbackCounter.allCases {
                feedback[counter.rawValue].increment(by: max(0, snapshot.feedback(counter) - last.feedback(counter)))
            }
            retransmittedFromCache.increment(
                by: max(0, snapshot.feedback(.retransmittedFromCache) - last.feedback(.retransmittedFromCache)))
            retransmittedByPublisher.increment(by: max(0, snapshot.feedback(.rtxReceived) - last.feedback(.rtxReceived)))
            last = snapshot
        }
        return registry.emitToString() + Self.roundTripHistogram(snapshot)
    }

    /// `chorus_rtt_seconds`: the workers count round trips into fixed buckets on their own
    /// threads (no metrics lock on the packet path), so the histogram is written from their
    /// totals here rather than observed sample by sample.
    static func roundTripHistogram(_ snapshot: WorkerStatsSnapshot) -> String {
        var text = "# HELP chorus_rtt_seconds Round-trip times measured on transports (RTCP RR/XR).\n"
        text += "# TYPE chorus_rtt_seconds histogram\n"
        var cumulative = 0
        for (i, bound) in RoundTripBuckets.bounds.enumerated() {
            cumulative += snapshot.roundTripBuckets[i]
            text += "chorus_rtt_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        cumulative += snapshot.roundTripBuckets[RoundTripBuckets.bounds.count]
        text += "chorus_rtt_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        text += "chorus_rtt_seconds_sum \(snapshot.roundTripSum)\n"
        text += "chorus_rtt_seconds_count \(snapshot.roundTripCount)\n"
        return text
    }
}

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
            last = snapshot
        }
        return registry.emitToString()
    }
}

// Counters of one worker, plain integers touched only on its thread (no atomics on the packet
// path); the metrics exporter reads a snapshot by hopping onto the worker.

public enum DropReason: Int, CaseIterable, Sendable {
    case malformed
    case unknownSource
    case unknownTransport
    case stunRejected
    case srtpAuthentication
    case srtpReplay
    case unknownSSRC
    case muted
    case notConnected
    case waitingForKeyframe
    case padding
    case sendFailed

    /// The Prometheus label value.
    public var label: String {
        switch self {
        case .malformed: "malformed"
        case .unknownSource: "unknown_source"
        case .unknownTransport: "unknown_transport"
        case .stunRejected: "stun_rejected"
        case .srtpAuthentication: "srtp_auth"
        case .srtpReplay: "srtp_replay"
        case .unknownSSRC: "unknown_ssrc"
        case .muted: "muted"
        case .notConnected: "not_connected"
        case .waitingForKeyframe: "waiting_for_keyframe"
        case .padding: "padding_only"
        case .sendFailed: "send_failed"
        }
    }
}

public struct WorkerStatsSnapshot: Sendable, Equatable {
    public var packetsIn = 0
    public var bytesIn = 0
    public var packetsOut = 0
    public var bytesOut = 0
    public var dropped = [Int](repeating: 0, count: DropReason.allCases.count)
    public var transports = 0
    public var rooms = 0
    public var producers = 0
    public var consumers = 0
    /// STUN checks the kernel delivered to this worker for another worker's ufrag on a shared
    /// port, passed on to their owner: a peer's first check or two; more means steering fails.
    public var stunHandedOff = 0
    /// The worker's ICE-TCP connections (filled in by the Worker, which owns them).
    public var iceTCP = ICETCPStats()

    public init() {}

    public func dropped(_ reason: DropReason) -> Int { dropped[reason.rawValue] }
}

final class WorkerStats {
    var packetsIn = 0
    var bytesIn = 0
    var packetsOut = 0
    var bytesOut = 0
    var stunHandedOff = 0
    /// Indexed by DropReason.rawValue; allocated once.
    private var droppedCounts = [Int](repeating: 0, count: DropReason.allCases.count)

    @inline(__always) func drop(_ reason: DropReason) {
        droppedCounts[reason.rawValue] &+= 1
    }

    func dropped(_ reason: DropReason) -> Int { droppedCounts[reason.rawValue] }

    var snapshot: WorkerStatsSnapshot {
        var s = WorkerStatsSnapshot()
        s.packetsIn = packetsIn
        s.bytesIn = bytesIn
        s.packetsOut = packetsOut
        s.bytesOut = bytesOut
        s.dropped = droppedCounts
        s.stunHandedOff = stunHandedOff
        return s
    }
}

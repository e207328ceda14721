// Counters of a worker's ICE-TCP connections (plain integers on the worker's thread, read by
// the metrics exporter through a snapshot, like WorkerStats).

public struct ICETCPStats: Sendable, Equatable {
    /// Why a connection ended.
    public enum CloseReason: Int, CaseIterable, Sendable {
        /// The peer closed or reset it.
        case peer
        /// A read or write failed (other than "try again").
        case error
        /// No valid ICE check came over it within the validation timeout.
        case notValidated
        /// Nothing came over it for the idle timeout (consent checks come every few seconds).
        case idle
        /// The transport it carried closed.
        case transportClosed
        /// The server stopped.
        case shutdown

        /// The Prometheus label value.
        public var label: String {
            switch self {
            case .peer: "peer"
            case .error: "error"
            case .notValidated: "not_validated"
            case .idle: "idle"
            case .transportClosed: "transport_closed"
            case .shutdown: "shutdown"
            }
        }
    }

    /// Why a frame was not passed on.
    public enum DropReason: Int, CaseIterable, Sendable {
        /// The connection's send buffer had no room for it: the peer reads too slowly.
        case sendBufferFull
        /// A received frame longer than any datagram Chorus speaks.
        case oversized
        /// Queued for a TCP address whose connection has closed.
        case noConnection

        public var label: String {
            switch self {
            case .sendBufferFull: "send_buffer_full"
            case .oversized: "oversized"
            case .noConnection: "no_connection"
            }
        }
    }

    /// Connections open now (a gauge).
    public var open = 0
    public var accepted = 0
    /// Refused at once: the worker held its maximum of connections.
    public var refused = 0
    /// Accepted by this worker's listener for a room of another worker (shared port) and
    /// passed to it, socket and buffered bytes.
    public var handedOff = 0
    public var closed = [Int](repeating: 0, count: CloseReason.allCases.count)
    public var framesIn = 0
    public var framesOut = 0
    public var dropped = [Int](repeating: 0, count: DropReason.allCases.count)

    public init() {}

    public func closed(_ reason: CloseReason) -> Int { closed[reason.rawValue] }
    public func dropped(_ reason: DropReason) -> Int { dropped[reason.rawValue] }

    /// Sums two workers' counters.
    public static func + (a: ICETCPStats, b: ICETCPStats) -> ICETCPStats {
        var sum = a
        sum.open += b.open
        sum.accepted += b.accepted
        sum.refused += b.refused
        sum.handedOff += b.handedOff
        for i in sum.closed.indices { sum.closed[i] += b.closed[i] }
        sum.framesIn += b.framesIn
        sum.framesOut += b.framesOut
        for i in sum.dropped.indices { sum.dropped[i] += b.dropped[i] }
        return sum
    }
}

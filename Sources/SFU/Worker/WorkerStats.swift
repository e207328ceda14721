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
    /// Video the bandwidth allocator paused for one subscriber (its downlink cannot take it).
    case pausedForBandwidth
    /// VP8 frames above a subscriber's temporal-layer cap (TID, RFC 7741 §4.2).
    case temporalLayer

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
        case .pausedForBandwidth: "paused_for_bandwidth"
        case .temporalLayer: "temporal_layer"
        }
    }
}

/// What the SFU did about losses and congestion (the Prometheus feedback counters).
public enum FeedbackCounter: Int, CaseIterable, Sendable {
    /// Generic NACK packets from subscribers, and the sequence numbers they listed.
    case nacksReceived, nackedPackets
    /// NACK packets Chorus sent to publishers, and the sequence numbers they listed.
    case nacksSent, nackRequestedPackets
    /// Packets resent to subscribers from Chorus's history, as RTX or on the original SSRC.
    case retransmittedFromCache
    /// NACKed packets the history no longer held (each NACK with any becomes a keyframe request).
    case retransmissionMisses
    /// Subscribers' NACKs passed on to the publisher (the history switched off).
    case nacksForwarded
    /// RTX packets from publishers, unwrapped into their stream.
    case rtxReceived
    /// Duplicates of packets already held (a retransmission that came after all), dropped.
    case duplicatesDropped
    /// Transport-cc feedback packets sent to publishers.
    case transportFeedbackSent
    /// REMB packets sent to publishers.
    case rembSent
    /// Keyframe requests (PLI, FIR) from subscribers, and PLI/FIR Chorus sent to publishers.
    case keyframeRequestsReceived, keyframeRequestsSent

    public var label: String {
        switch self {
        case .nacksReceived: "nacks_received"
        case .nackedPackets: "nacked_packets"
        case .nacksSent: "nacks_sent"
        case .nackRequestedPackets: "nack_requested_packets"
        case .retransmittedFromCache: "retransmitted_from_cache"
        case .retransmissionMisses: "retransmission_misses"
        case .nacksForwarded: "nacks_forwarded"
        case .rtxReceived: "rtx_received"
        case .duplicatesDropped: "duplicates_dropped"
        case .transportFeedbackSent: "transport_feedback_sent"
        case .rembSent: "remb_sent"
        case .keyframeRequestsReceived: "keyframe_requests_received"
        case .keyframeRequestsSent: "keyframe_requests_sent"
        }
    }
}

/// Round-trip times measured, in a histogram (seconds), for `chorus_rtt_seconds`.
public enum RoundTripBuckets {
    /// Upper bounds in seconds.
    public static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]
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
    public var feedback = [Int](repeating: 0, count: FeedbackCounter.allCases.count)
    /// Samples per `RoundTripBuckets.bounds` bucket (then +Inf; not cumulative), their sum and count.
    public var roundTripBuckets = [Int](repeating: 0, count: RoundTripBuckets.bounds.count + 1)
    public var roundTripSum = 0.0
    public var roundTripCount = 0
    /// The worker's ICE-TCP connections (filled in by the Worker, which owns them).
    public var iceTCP = ICETCPStats()

    public init() {}

    public func dropped(_ reason: DropReason) -> Int { dropped[reason.rawValue] }
    public func feedback(_ counter: FeedbackCounter) -> Int { feedback[counter.rawValue] }
}

final class WorkerStats {
    var packetsIn = 0
    var bytesIn = 0
    var packetsOut = 0
    var bytesOut = 0
    var stunHandedOff = 0
    /// Indexed by DropReason.rawValue; allocated once.
    private var droppedCounts = [Int](repeating: 0, count: DropReason.allCases.count)

    private var feedbackCounts = [Int](repeating: 0, count: FeedbackCounter.allCases.count)
    private var roundTripBuckets = [Int](repeating: 0, count: RoundTripBuckets.bounds.count + 1)
    private var roundTripSum = 0.0
    private var roundTripCount = 0

    @inline(__always) func drop(_ reason: DropReason) {
        droppedCounts[reason.rawValue] &+= 1
    }

    @inline(__always) func count(_ counter: FeedbackCounter, _ n: Int = 1) {
        feedbackCounts[counter.rawValue] &+= n
    }

    func feedback(_ counter: FeedbackCounter) -> Int { feedbackCounts[counter.rawValue] }

    /// A round-trip time measured on some transport.
    func recordRoundTrip(_ rtt: Duration) {
        let seconds = Double(rtt.components.seconds) + Double(rtt.components.attoseconds) * 1e-18
        let bucket = RoundTripBuckets.bounds.firstIndex { seconds <= $0 } ?? RoundTripBuckets.bounds.count
        roundTripBuckets[bucket] &+= 1
        roundTripSum += seconds
        roundTripCount &+= 1
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
        s.feedback = feedbackCounts
        // Per bucket here; cumulative (as Prometheus wants) when summed for export.
        s.roundTripBuckets = roundTripBuckets
        s.roundTripSum = roundTripSum
        s.roundTripCount = roundTripCount
        return s
    }
}

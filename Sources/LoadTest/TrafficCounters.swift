// What the generator counts while it runs, summed over peers: sent by publishers, received and
// checked by subscribers. Each generator thread keeps its own and hands them over in batches;
// the runner adds them up per interval, per step and for the whole run.

public struct TrafficCounters: Equatable, Sendable {
    public var audioPacketsSent = 0
    public var videoPacketsSent = 0
    /// SRTP datagrams of RTP media as written to the sockets.
    public var bytesSent = 0
    /// Datagrams the kernel would not take (full socket buffer): the generator is behind.
    public var sendFailures = 0

    public var audioPacketsReceived = 0
    public var videoPacketsReceived = 0
    /// Every datagram subscribers received (SRTP, RTCP and STUN included).
    public var bytesReceived = 0
    /// Packets between the first and the highest sequence number seen, per received stream.
    public var expected: Int64 = 0
    /// Distinct packets received (`expected - unique` were lost).
    public var unique: Int64 = 0
    public var duplicates = 0
    public var late = 0
    /// RTP from an SSRC the answer did not announce.
    public var unknownSSRC = 0

    /// PLI/FIR received by publishers, and frames where a publisher jumped to its keyframe.
    public var keyframeRequests = 0
    public var keyframesForced = 0
    /// Times a publisher's schedule fell more than 200 ms behind and skipped ahead.
    public var lagResets = 0

    /// Publisher send time to subscriber receive time, ns.
    public var latency = LatencyHistogram()
    /// Due time to send time per packet sent, ns: how well the generator keeps its publishers'
    /// schedules. Late sends bunch up into bursts independent peers would not make, and the
    /// SFU's queueing behind a burst lands in `latency`.
    public var sendLag = LatencyHistogram()

    public init() {}

    public var packetsSent: Int { audioPacketsSent + videoPacketsSent }
    public var packetsReceived: Int { audioPacketsReceived + videoPacketsReceived }
    public var lost: Int64 { Swift.max(0, expected - unique) }
    /// Lost over expected, in percent.
    public var lossPercent: Double { expected > 0 ? Double(lost) * 100 / Double(expected) : 0 }

    public mutating func add(_ other: TrafficCounters) {
        audioPacketsSent += other.audioPacketsSent
        videoPacketsSent += other.videoPacketsSent
        bytesSent += other.bytesSent
        sendFailures += other.sendFailures
        audioPacketsReceived += other.audioPacketsReceived
        videoPacketsReceived += other.videoPacketsReceived
        bytesReceived += other.bytesReceived
        expected += other.expected
        unique += other.unique
        duplicates += other.duplicates
        late += other.late
        unknownSSRC += other.unknownSSRC
        keyframeRequests += other.keyframeRequests
        keyframesForced += other.keyframesForced
        lagResets += other.lagResets
        latency.add(other.latency)
        sendLag.add(other.sendLag)
    }

    /// Zeroes everything, keeping the histogram's storage.
    public mutating func reset() {
        var latency = self.latency
        var sendLag = self.sendLag
        latency.reset()
        sendLag.reset()
        self = TrafficCounters()
        self.latency = latency
        self.sendLag = sendLag
    }
}

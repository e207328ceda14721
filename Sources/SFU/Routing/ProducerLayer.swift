// One incoming RTP stream of a producer: the only one of a plain track, or one simulcast layer.
// Everything that belongs to a stream lives here: its SSRC and RTX SSRC, statistics for our
// receiver reports, its last sender report, the packet history that answers subscribers'
// NACKs, the NACKs we send the publisher, and keyframe requests (throttled per stream).

import RTP

final class ProducerLayer {
    /// Spatial index: 0 is the lowest (the offer's first RID or `a=ssrc-group:SIM` member).
    let index: Int
    /// The RID of a RID-simulcast layer (RFC 8851), which its first packets carry.
    let rid: String?
    unowned let producer: Producer
    /// The SSRC the publisher uses; learnt from the first packet when the SDP had none.
    internal(set) var ssrc: UInt32?
    /// The RTX SSRC (from `a=ssrc-group:FID`, else learnt from the first RTX packet).
    internal(set) var rtxSSRC: UInt32?

    internal(set) var packetsIn = 0
    internal(set) var bytesIn = 0
    /// When the last packet came: a simulcast sender drops its upper layers when its uplink
    /// shrinks, and their consumers must move down rather than freeze.
    private(set) var lastArrival: ContinuousClock.Instant?
    internal(set) var keyframeRequests = 0
    /// Bits per second arriving lately (smoothed over the allocator's samples); nil before the
    /// first sample and while the layer is silent.
    private(set) var bitrate: Double?
    private var sampledBytes = 0
    private var sampledAt: ContinuousClock.Instant?
    var receiveStatistics = ReceiveStatistics()
    /// The last sender report: how this layer's RTP clock maps to the sender's wall clock (a
    /// consumer switching layers carries its timestamps across with it).
    private(set) var senderReport: SenderReportClock?
    private var sequences = SequenceNumberUnwrapper()
    /// What subscribers' NACKs are answered from (nil: retransmission from the history is off,
    /// their NACKs go to the publisher).
    let history: PacketHistory?
    /// What we NACK the publisher for (nil when it did not negotiate NACK, or retransmission
    /// is switched off).
    // @exclusivity(unchecked): touched on every packet, only on the worker's thread, and only
    // by methods of the value itself that never reach back into this property, so no two
    // accesses can overlap; the run-time check would cost ~80 instructions a packet.
    @exclusivity(unchecked) private var nacks: NackGenerator?
    /// Reused for the sequence numbers of each NACK, so that asking allocates nothing.
    private var nackBuffer: [SequenceNumber] = []
    private var lastKeyframeRequest: ContinuousClock.Instant?
    /// A keyframe request that came within the interval of the last one: sent when it ends.
    private var keyframeRequestPending = false
    /// FIR command sequence number (RFC 5104 §4.3.1.1): one per new request.
    private var firSequence: UInt8 = 0

    /// A publisher answers PLI with a keyframe of tens of packets: asking again sooner than this
    /// only multiplies that burst when many subscribers ask at once. However many ask, one
    /// request goes out per interval (the rest wait for its end, none is lost).
    static let keyframeRequestInterval: Duration = .milliseconds(300)

    init(index: Int, rid: String?, ssrc: UInt32?, rtxSSRC: UInt32?, producer: Producer, retransmission: Bool) {
        self.index = index
        self.rid = rid
        self.ssrc = ssrc
        self.rtxSSRC = rtxSSRC
        self.producer = producer
        // Off (the A/B switch) is an SFU without repair of its own: no history to answer from
        // and no NACKs of ours; the subscribers' NACKs reach the publisher instead.
        history = retransmission ? PacketHistory.forKind(producer.parameters.kind) : nil
        if retransmission, producer.parameters.feedback.contains(.nack) {
            nacks = NackGenerator()
            nackBuffer.reserveCapacity(NackGenerator.capacity)
        }
    }

    private var transport: WebRTCTransport { producer.transport }

    /// Counts, keeps and checks one packet. Returns false when it must not be forwarded (a
    /// retransmission of what came already).
    @inline(__always)
    func receive(_ packet: RTPPacket, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) -> Bool {
        packetsIn &+= 1
        bytesIn &+= packet.bytes.count
        lastArrival = now
        let sequence = sequences.unwrap(packet.sequenceNumber)
        if let history {
            // A retransmission (ours asked for, or the publisher's own) of what came already.
            if history.holds(sequence) {
                stats.count(.duplicatesDropped)
                return false
            }
            history.store(packet.bytes, sequence: sequence, now: now)
        }
        receiveStatistics.record(
            sequence: packet.sequenceNumber, timestamp: packet.timestamp, clockRate: producer.parameters.clockRate,
            arrival: now, epoch: transport.epoch)
        if nacks != nil { noteArrival(sequence, now: now, queue: queue, stats: stats) }
        return true
    }

    /// Measures the bitrate since the last sample (the bandwidth allocator calls this for every
    /// layer before it divides a subscriber's downlink; a per-packet meter would cost every
    /// forwarded packet for a figure read twice a second).
    func sampleBitrate(now: ContinuousClock.Instant) {
        defer {
            sampledBytes = bytesIn
            sampledAt = now
        }
        guard let sampledAt, now > sampledAt else { return }
        guard let lastArrival, now - lastArrival < Producer.layerInactivity else {
            bitrate = nil
            return
        }
        let seconds = (now - sampledAt).milliseconds / 1000
        let sample = Double(bytesIn &- sampledBytes) * 8 / seconds
        // Keyframes come in bursts of tens of packets: smoothing keeps one from looking like a
        // step up of the whole layer.
        bitrate = bitrate.map { 0.6 * $0 + 0.4 * sample } ?? sample
    }

    func recordSenderReport(_ report: SenderReport, arrival: ContinuousClock.Instant) {
        receiveStatistics.recordSenderReport(ntpTimestamp: report.ntpTimestamp, arrival: arrival)
        senderReport = SenderReportClock(ntp: report.ntpTimestamp, rtp: RTPTimestamp(rawValue: report.rtpTimestamp))
    }

    /// A new SSRC for this stream (the publisher restarted its encoder): its own sequence
    /// space, so what was missing of the old one is moot.
    func rebind(ssrc: UInt32) {
        self.ssrc = ssrc
        receiveStatistics = ReceiveStatistics()
        senderReport = nil
        sequences = SequenceNumberUnwrapper()
        nacks?.reset()
        history?.clear()
    }

    // MARK: - Keyframes

    /// Asks the publisher for a keyframe of this stream: PLI (RFC 4585 §6.3.1), or FIR (RFC 5104
    /// §4.3.1) when only that was negotiated. Aggregated: at most one per
    /// `keyframeRequestInterval`, a request within it waits for its end (`handleTimeout`), none
    /// is lost. `force` is for the producer's own events (a new SSRC, an unmute): one request
    /// each, sent at once.
    func requestKeyframe(now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats? = nil, force: Bool = false) {
        // Before the publisher is connected a PLI cannot be sent; it would only start the throttle.
        guard producer.kind == .video, ssrc != nil, transport.isConnected else { return }
        if !force, let last = lastKeyframeRequest, now - last < Self.keyframeRequestInterval {
            keyframeRequestPending = true
            transport.wakeTimers(at: last + Self.keyframeRequestInterval)
            return
        }
        sendKeyframeRequest(now: now, queue: queue, stats: stats)
    }

    private func sendKeyframeRequest(now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats?) {
        guard let ssrc else { return }
        lastKeyframeRequest = now
        keyframeRequestPending = false
        keyframeRequests += 1
        stats?.count(.keyframeRequestsSent)
        let feedback = producer.parameters.feedback
        if feedback.contains(.fir), !feedback.contains(.pli) {
            firSequence &+= 1
            transport.sendFullIntraRequest(mediaSSRC: ssrc, sequence: firSequence, queue: queue)
        } else {
            transport.sendPictureLossIndication(mediaSSRC: ssrc, queue: queue)
        }
    }

    // MARK: - Losses on the way in

    /// A packet arrived: a gap is NACKed at once, a gap too large to repair asks for a keyframe.
    private func noteArrival(_ sequence: Int64, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        switch nacks!.received(sequence, now: now) {
        case .none:
            return
        case .gap:
            sendDueNACKs(now: now, queue: queue, stats: stats)
        case .keyframeNeeded:
            requestKeyframe(now: now, queue: queue, stats: stats)
        }
    }

    private func sendDueNACKs(now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        guard let ssrc, nacks != nil else { return }
        nacks!.due(now: now, retry: transport.roundTripTime, into: &nackBuffer)
        guard !nackBuffer.isEmpty else { return }
        stats.count(.nacksSent)
        stats.count(.nackRequestedPackets, nackBuffer.count)
        transport.sendNACK(mediaSSRC: ssrc, lost: nackBuffer, queue: queue)
        transport.wakeTimers(at: nacks!.nextDeadline ?? now)
    }

    /// Whether Chorus is still NACKing the publisher for this (extended) sequence number.
    func isBeingRepaired(_ sequence: Int64) -> Bool { nacks?.isMissing(sequence) ?? false }

    /// When this stream's timers next need running: a NACK retry or a waiting keyframe request.
    var nextDeadline: ContinuousClock.Instant? {
        var due = nacks?.nextDeadline
        if keyframeRequestPending, let last = lastKeyframeRequest {
            let end = last + Self.keyframeRequestInterval
            due = min(due ?? end, end)
        }
        return due
    }

    func handleTimeout(now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        if nacks != nil { sendDueNACKs(now: now, queue: queue, stats: stats) }
        if keyframeRequestPending, let last = lastKeyframeRequest, now - last >= Self.keyframeRequestInterval {
            sendKeyframeRequest(now: now, queue: queue, stats: stats)
        }
    }

    /// Translates a subscriber's NACK into the publisher's sequence space and passes it on (what
    /// an SFU without a history can do; the publisher's retransmission then reaches everyone).
    func requestRetransmission(of sequenceNumbers: [SequenceNumber], queue: SendQueue) {
        guard let ssrc, !sequenceNumbers.isEmpty else { return }
        transport.sendNACK(mediaSSRC: ssrc, lost: sequenceNumbers, queue: queue)
    }
}

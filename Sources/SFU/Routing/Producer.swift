// A published track: packets of one incoming RTP stream, their statistics, and the consumers
// they are forwarded to. A paused (muted) producer counts and drops what arrives.

import RTP

public final class Producer {
    public let id: String
    public let parameters: TrackParameters
    public var kind: TrackKind { parameters.kind }
    /// The SSRC the publisher uses; learnt from the first packet when the SDP had none.
    public internal(set) var ssrc: UInt32?
    /// The publisher's RTX SSRC (from `a=ssrc-group:FID`, else from its first RTX packet).
    internal(set) var rtxSSRC: UInt32?
    unowned let transport: WebRTCTransport

    /// Consumers in forwarding order; a contiguous array so that the fan-out loop is a plain walk.
    private(set) var consumers: ContiguousArray<Consumer> = []

    /// Mute decided by the Router (RoomParticipant's MuteState); never by the client.
    public private(set) var paused = false

    public internal(set) var packetsIn = 0
    public internal(set) var bytesIn = 0
    public internal(set) var packetsDroppedWhilePaused = 0
    public internal(set) var keyframeRequests = 0
    var receiveStatistics = ReceiveStatistics()
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
    /// How loud the publisher says it is (audio with the RFC 6464 extension), for the room's
    /// speaker detector; unchecked for the reason `nacks` is.
    @exclusivity(unchecked) var audioLevel: AudioLevelMeter?
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

    init(id: String, parameters: TrackParameters, transport: WebRTCTransport, retransmission: Bool = true) {
        self.id = id
        self.parameters = parameters
        self.ssrc = parameters.ssrc
        self.rtxSSRC = parameters.rtxSSRC
        self.transport = transport
        // Off (the A/B switch) is an SFU without repair of its own: no history to answer from
        // and no NACKs of ours; the subscribers' NACKs reach the publisher instead.
        history = retransmission ? PacketHistory.forKind(parameters.kind) : nil
        if retransmission, parameters.feedback.contains(.nack) {
            nacks = NackGenerator()
            nackBuffer.reserveCapacity(NackGenerator.capacity)
        }
        if parameters.kind == .audio, let id = parameters.audioLevelExtensionID {
            audioLevel = AudioLevelMeter(extensionID: id)
        }
    }

    public private(set) var isClosed = false

    /// The one way a producer ends (its publisher's transport closed, or its m-line went):
    /// every consumer of it closes first, so that none is left holding it.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        for consumer in consumers { consumer.close() }
        transport.removeProducer(self)
    }

    func add(_ consumer: Consumer) {
        consumers.append(consumer)
    }

    func remove(_ consumer: Consumer) {
        consumers.removeAll { $0 === consumer }
    }

    /// Forwards one decrypted packet to every active consumer (and keeps it for their NACKs).
    @inline(__always)
    func receive(_ packet: RTPPacket, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        packetsIn &+= 1
        bytesIn &+= packet.bytes.count
        let sequence = sequences.unwrap(packet.sequenceNumber)
        if let history {
            // A retransmission (ours asked for, or the publisher's own) of what came already.
            if history.holds(sequence) {
                stats.count(.duplicatesDropped)
                return
            }
            history.store(packet.bytes, sequence: sequence, now: now)
        }
        receiveStatistics.record(
            sequence: packet.sequenceNumber, timestamp: packet.timestamp, clockRate: parameters.clockRate,
            arrival: now, epoch: transport.epoch)
        if nacks != nil { noteArrival(sequence, now: now, queue: queue, stats: stats) }
        if paused {
            packetsDroppedWhilePaused &+= 1
            stats.drop(.muted)
            return
        }
        // After the mute check: a muted participant is not a speaker.
        if audioLevel != nil { audioLevel!.record(packet) }
        if packet.payload.count == 0 {
            // Padding-only packets are the sender's bandwidth probes, meaningless downstream.
            stats.drop(.padding)
            return
        }
        // Consumer.prefetch stages run ahead of the forwarding: consumer k gets stage s at step
        // k + s and is forwarded at step k + prefetchStages, so the cold state of the next few
        // subscribers loads while this one's packet is copied and encrypted.
        let consumers = self.consumers
        let depth = Consumer.prefetchStages
        consumers.withUnsafeBufferPointer { list in
            for step in 0..<(list.count + depth) {
                var stage = 0
                while stage < depth {
                    let index = step - stage
                    if index >= 0, index < list.count { list[index].prefetch(stage: stage) }
                    stage += 1
                }
                if step >= depth {
                    list[step - depth].forward(packet, now: now, queue: queue, stats: stats)
                }
            }
        }
    }

    /// Pauses or resumes; on resume every consumer resynchronises and video asks for a keyframe.
    func setPaused(_ paused: Bool, now: ContinuousClock.Instant, queue: SendQueue) {
        guard paused != self.paused else { return }
        self.paused = paused
        if !paused {
            for consumer in consumers { consumer.restart() }
            if kind == .video { requestKeyframe(now: now, queue: queue, force: true) }
        }
    }

    /// Asks the publisher for a keyframe: PLI (RFC 4585 §6.3.1), or FIR (RFC 5104 §4.3.1) when
    /// only that was negotiated. Subscribers' requests are aggregated: at most one per
    /// `keyframeRequestInterval`, a request within it waits for its end (`handleTimeout`), none
    /// is lost. `force` is for the producer's own events (a new SSRC, an unmute): one request
    /// each, sent at once.
    func requestKeyframe(now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats? = nil, force: Bool = false) {
        // Before the publisher is connected a PLI cannot be sent; it would only start the throttle.
        guard kind == .video, ssrc != nil, transport.isConnected else { return }
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
        if parameters.feedback.contains(.fir), !parameters.feedback.contains(.pli) {
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

    /// When this producer's timers next need running: a NACK retry or a waiting keyframe request.
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

    /// A new SSRC for the same track (the publisher restarted its encoder): consumers restart
    /// their rewriting so that subscribers still see one continuous stream.
    func rebind(ssrc: UInt32, now: ContinuousClock.Instant, queue: SendQueue) {
        self.ssrc = ssrc
        receiveStatistics = ReceiveStatistics()
        // A new SSRC starts its own sequence space: what was missing of the old one is moot.
        sequences = SequenceNumberUnwrapper()
        nacks?.reset()
        history?.clear()
        for consumer in consumers { consumer.restart() }
        requestKeyframe(now: now, queue: queue, force: true)
    }

    /// Translates a subscriber's NACK into the publisher's sequence space and passes it on (what
    /// an SFU without a history can do; the publisher's retransmission then reaches everyone).
    func requestRetransmission(of sequenceNumbers: [SequenceNumber], queue: SendQueue) {
        guard let ssrc, !sequenceNumbers.isEmpty else { return }
        transport.sendNACK(mediaSSRC: ssrc, lost: sequenceNumbers, queue: queue)
    }
}

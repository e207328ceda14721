// A published track: packets of one incoming RTP stream, their statistics, and the consumers
// they are forwarded to. A paused (muted) producer counts and drops what arrives.

import RTP

public final class Producer {
    public let id: String
    public let parameters: TrackParameters
    public var kind: TrackKind { parameters.kind }
    /// The SSRC the publisher uses; learnt from the first packet when the SDP had none.
    public internal(set) var ssrc: UInt32?
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
    private var lastKeyframeRequest: ContinuousClock.Instant?

    /// A publisher answers PLI with a keyframe of tens of packets: asking again sooner than this
    /// only multiplies that burst when many subscribers ask at once.
    static let keyframeRequestInterval: Duration = .milliseconds(300)

    init(id: String, parameters: TrackParameters, transport: WebRTCTransport) {
        self.id = id
        self.parameters = parameters
        self.ssrc = parameters.ssrc
        self.transport = transport
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

    /// Forwards one decrypted packet to every active consumer.
    @inline(__always)
    func receive(_ packet: RTPPacket, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        packetsIn &+= 1
        bytesIn &+= packet.bytes.count
        receiveStatistics.record(
            sequence: packet.sequenceNumber, timestamp: packet.timestamp, clockRate: parameters.clockRate,
            arrival: now, epoch: transport.epoch)
        if paused {
            packetsDroppedWhilePaused &+= 1
            stats.drop(.muted)
            return
        }
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

    /// Sends a PLI (RFC 4585 §6.3.1) to the publisher, at most once per interval unless forced.
    func requestKeyframe(now: ContinuousClock.Instant, queue: SendQueue, force: Bool = false) {
        // Before the publisher is connected a PLI cannot be sent; it would only start the throttle.
        guard kind == .video, let ssrc, transport.isConnected else { return }
        if !force, let last = lastKeyframeRequest, now - last < Self.keyframeRequestInterval { return }
        lastKeyframeRequest = now
        keyframeRequests += 1
        transport.sendPictureLossIndication(mediaSSRC: ssrc, queue: queue)
    }

    /// A new SSRC for the same track (the publisher restarted its encoder): consumers restart
    /// their rewriting so that subscribers still see one continuous stream.
    func rebind(ssrc: UInt32, now: ContinuousClock.Instant, queue: SendQueue) {
        self.ssrc = ssrc
        receiveStatistics = ReceiveStatistics()
        for consumer in consumers { consumer.restart() }
        requestKeyframe(now: now, queue: queue, force: true)
    }

    /// Translates a subscriber's NACK into the publisher's sequence space and passes it on.
    func requestRetransmission(of sequenceNumbers: [SequenceNumber], queue: SendQueue) {
        guard let ssrc, !sequenceNumbers.isEmpty else { return }
        transport.sendNACK(mediaSSRC: ssrc, lost: sequenceNumbers, queue: queue)
    }
}

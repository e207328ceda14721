// A published track: its incoming RTP streams (one, or one per simulcast layer: `layers`) and
// the consumers they are forwarded to. A paused (muted) producer counts and drops what arrives.

import RTP

public final class Producer {
    public let id: String
    public let parameters: TrackParameters
    public var kind: TrackKind { parameters.kind }
    public var source: TrackSource { parameters.source }
    unowned let transport: WebRTCTransport

    /// Consumers in forwarding order; a contiguous array so that the fan-out loop is a plain walk.
    private(set) var consumers: ContiguousArray<Consumer> = []
    /// The incoming streams, lowest spatial layer first; exactly one unless simulcast.
    private(set) var layers: ContiguousArray<ProducerLayer> = []

    /// Which layers arrive (bit n: layer n had a packet within `layerInactivity`), as of the
    /// last timer run; 0 until the first. Consumers target only layers that arrive.
    private(set) var activeLayers: UInt8 = 0
    /// A layer silent this long counts as stopped (a frame interval is tens of milliseconds;
    /// checked at the transport's timers, so a stop is noticed within about twice this).
    static let layerInactivity: Duration = .seconds(1)

    /// How loud the publisher says it is (audio with the RFC 6464 extension), for the room's
    /// speaker detector.
    // @exclusivity(unchecked): touched on every packet, only on the worker's thread, and only
    // by methods of the value itself that never reach back into this property, so no two
    // accesses can overlap; the run-time check would cost ~80 instructions a packet.
    @exclusivity(unchecked) var audioLevel: AudioLevelMeter?

    /// Mute decided by the Router (RoomParticipant's MuteState); never by the client.
    public private(set) var paused = false
    public internal(set) var packetsDroppedWhilePaused = 0

    init(id: String, parameters: TrackParameters, transport: WebRTCTransport, retransmission: Bool = true) {
        self.id = id
        self.parameters = parameters
        self.transport = transport
        let described = parameters.layers.isEmpty
            ? [LayerParameters(rid: nil, ssrc: parameters.ssrc, rtxSSRC: parameters.rtxSSRC)] : parameters.layers
        for (index, layer) in described.enumerated() {
            layers.append(ProducerLayer(
                index: index, rid: layer.rid, ssrc: layer.ssrc, rtxSSRC: layer.rtxSSRC, producer: self,
                retransmission: retransmission))
        }
        if parameters.kind == .audio, let id = parameters.audioLevelExtensionID {
            audioLevel = AudioLevelMeter(extensionID: id)
        }
    }

    /// The first layer's SSRC (the only one of a plain track).
    public var ssrc: UInt32? { layers[0].ssrc }
    public var isSimulcast: Bool { layers.count > 1 }
    public var packetsIn: Int { layers.reduce(0) { $0 + $1.packetsIn } }
    public var bytesIn: Int { layers.reduce(0) { $0 + $1.bytesIn } }
    public var keyframeRequests: Int { layers.reduce(0) { $0 + $1.keyframeRequests } }

    /// Keyframe requests go out at most once per this interval per layer (see ProducerLayer).
    static var keyframeRequestInterval: Duration { ProducerLayer.keyframeRequestInterval }

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

    func layer(rid: String) -> ProducerLayer? { layers.first { $0.rid == rid } }

    /// Forwards one decrypted packet of `layer` to every active consumer (and keeps it for
    /// their NACKs). Each consumer takes only its own layer's packets.
    @inline(__always)
    func receive(_ packet: RTPPacket, layer: ProducerLayer, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        guard layer.receive(packet, now: now, queue: queue, stats: stats) else { return }
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
        let index = layer.index
        consumers.withUnsafeBufferPointer { list in
            for step in 0..<(list.count + depth) {
                var stage = 0
                while stage < depth {
                    let position = step - stage
                    if position >= 0, position < list.count { list[position].prefetch(stage: stage) }
                    stage += 1
                }
                if step >= depth {
                    list[step - depth].forward(packet, layer: index, now: now, queue: queue, stats: stats)
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
            if kind == .video {
                for layer in layers { layer.requestKeyframe(now: now, queue: queue, force: true) }
            }
        }
    }

    /// Asks for a keyframe of one layer (a subscriber's PLI, a consumer waiting to switch).
    func requestKeyframe(layer index: Int, now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats? = nil) {
        guard index >= 0, index < layers.count else { return }
        layers[index].requestKeyframe(now: now, queue: queue, stats: stats)
    }

    /// When this producer's timers next need running: any layer's NACK retry or keyframe request.
    var nextDeadline: ContinuousClock.Instant? {
        var due: ContinuousClock.Instant?
        for layer in layers {
            if let next = layer.nextDeadline { due = min(due ?? next, next) }
        }
        return due
    }

    func handleTimeout(now: ContinuousClock.Instant, queue: SendQueue, stats: WorkerStats) {
        for layer in layers { layer.handleTimeout(now: now, queue: queue, stats: stats) }
        if isSimulcast { updateActiveLayers(now: now, queue: queue) }
    }

    /// Tells consumers when layers start or stop arriving, so that they move to what arrives.
    private func updateActiveLayers(now: ContinuousClock.Instant, queue: SendQueue) {
        var mask: UInt8 = 0
        for layer in layers {
            if let last = layer.lastArrival, now - last < Self.layerInactivity { mask |= 1 << UInt8(layer.index) }
        }
        guard mask != activeLayers else { return }
        activeLayers = mask
        for consumer in consumers { consumer.retarget(now: now, queue: queue) }
    }

    /// A new SSRC on one layer (the publisher restarted its encoder, or a simulcast layer's
    /// first packet): consumers on that layer restart so that subscribers still see one
    /// continuous stream, and the layer asks for a keyframe.
    func rebind(_ layer: ProducerLayer, ssrc: UInt32, now: ContinuousClock.Instant, queue: SendQueue) {
        let restart = layer.ssrc != nil
        layer.rebind(ssrc: ssrc)
        if restart {
            for consumer in consumers { consumer.layerRestarted(layer.index) }
        }
        layer.requestKeyframe(now: now, queue: queue, force: true)
    }
}

// Everything one worker owns, without the socket and the thread: the transports on its port,
// the rooms pinned to it, and the control operations Signaling asks for. Sans-IO, so tests
// drive it with in-memory peers and a fake clock.

import ICE
import RTP

public final class MediaCore {
    let dtlsContext: DTLSContext
    public let announcedAddress: TransportAddress
    /// The worker's ICE-TCP listening port, announced beside the UDP candidate (nil: none).
    public var announcedTCPPort: UInt16?
    private let consentTimeout: Duration
    public let srtpBackend: SRTPBackend
    public let queue: SendQueue
    let stats = WorkerStats()
    private let server: WebRTCServer
    var routers: [String: Router] = [:]
    private var transports: [ObjectIdentifier: WebRTCTransport] = [:]
    /// Every open transport, by when its next timer is due.
    let timers = TimerHeap<WebRTCTransport>()
    /// When the rooms' speakers are next evaluated, and how many evaluations so far.
    private var nextSpeakerEvaluation: ContinuousClock.Instant?
    private var speakerEvaluations = 0
    /// When subscribers' downlinks are next divided among their tracks.
    private var nextAllocation: ContinuousClock.Instant?
    /// The transports one tick found due (kept to reuse its storage).
    private var dueTransports: [WebRTCTransport] = []
    private var owners: [ObjectIdentifier: Owner] = [:]
    /// Whose each transport is, and what each identity holds (the per-user limits' counts).
    private var holders: [ObjectIdentifier: (identity: String, publisher: Bool)] = [:]
    private var usage: [String: MediaUsage] = [:]
    /// New transports beyond this many are refused (`tooManyTransports`): a worker's share of
    /// what the machine can carry, so that a flood of offers cannot exhaust it.
    public var maximumTransports = Int.max
    /// Chorus repairs losses itself (true): subscribers' NACKs are answered from each
    /// producer's history, and publishers are NACKed for the gaps Chorus sees. False (the A/B
    /// switch, `--retransmission off`): neither; subscribers' NACKs are passed on to the
    /// publisher, as an SFU without a history does. Applies to producers created afterwards.
    public var retransmission = true

    private enum Owner {
        case participant(room: String, id: String)
        case subscription(room: String, participant: String, id: String)
    }

    /// Called for transport lifecycle changes, for logs (not on the packet path).
    public var log: ((String) -> Void)?
    /// Called when something Signaling did not ask for happens to a room (a participant's
    /// transport closed on its own: consent lost, DTLS failure, shutdown).
    public var onEvent: ((MediaEvent) -> Void)?

    // Workers sharing one UDP port (see ReuseportSteering). The hooks keep this type sans-IO:
    // the worker installs them, tests may too.
    /// Starts every local ufrag, so that any worker can tell from a STUN check whose it is.
    var ufragPrefix = ""
    /// ICE validated an address of one of this core's transports (true), or the transport
    /// holding it went (false): the peer's datagrams must (no longer) be steered here.
    var steerAddress: ((TransportAddress, Bool) -> Void)?
    /// A STUN check for a ufrag this core does not know (another worker's peer whose datagrams
    /// are not steered yet): true when it was passed on to its owner instead of dropped.
    var handOffSTUN: ((Substring, UnsafeRawBufferPointer, TransportAddress) -> Bool)? {
        get { server.handOffSTUN }
        set { server.handOffSTUN = newValue }
    }

    public init(
        dtlsContext: DTLSContext, announcedAddress: TransportAddress, consentTimeout: Duration = .seconds(30),
        srtpBackend: SRTPBackend = .default, queue: SendQueue
    ) {
        self.srtpBackend = srtpBackend
        self.dtlsContext = dtlsContext
        self.announcedAddress = announcedAddress
        self.consentTimeout = consentTimeout
        self.queue = queue
        self.server = WebRTCServer(stats: stats)
    }

    // MARK: - Packets and time

    @inline(__always)
    public func handleDatagram(_ datagram: UnsafeMutableRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant) {
        server.handle(datagram, from: source, now: now, queue: queue)
    }

    /// How often a worker runs its transports' timers (DTLS retransmission, consent, RTCP
    /// reports): a timer is late by at most this.
    public static let tickInterval: Duration = .milliseconds(20)

    /// One timer tick as a worker runs it: the due transports' timers, then what they queued
    /// goes out. The in-memory network of the tests and benchmarks runs the same.
    public func tick(now: ContinuousClock.Instant, wallClockNanoseconds: UInt64) {
        handleTimeout(now: now, wallClockNanoseconds: wallClockNanoseconds)
        queue.flush()
    }

    /// Runs the timers of the transports whose deadline has passed, each once per call: all
    /// due ones are taken out first, so a transport still due afterwards waits for the next tick.
    public func handleTimeout(now: ContinuousClock.Instant, wallClockNanoseconds: UInt64) {
        while let transport = timers.popDue(now: now) { dueTransports.append(transport) }
        for transport in dueTransports {
            transport.handleTimeout(now: now, wallClockNanoseconds: wallClockNanoseconds, queue: queue, stats: stats)
            // Closing released it (and any subscriptions hanging on it): nothing to schedule.
            guard transports[ObjectIdentifier(transport)] != nil else { continue }
            timers.schedule(transport, at: transport.nextDeadline)
        }
        dueTransports.removeAll(keepingCapacity: true)
        let speakersDue = nextSpeakerEvaluation ?? now
        if now >= speakersDue {
            nextSpeakerEvaluation = now + SpeakerDetector.interval
            evaluateSpeakers()
        }
        if now >= nextAllocation ?? now {
            nextAllocation = now + Self.allocationInterval
            allocateBandwidth(now: now)
        }
    }

    /// Each room's audio levels of the last interval into its speaker detector; what changed
    /// goes to Signaling. Rooms where nobody sends levels cost a dictionary walk.
    private func evaluateSpeakers() {
        speakerEvaluations &+= 1
        let sendLevels = speakerEvaluations % 2 == 0
        for router in routers.values {
            var windows: [String: Double?] = [:]
            for participant in router.participants.values {
                for producer in participant.producers where producer.audioLevel != nil {
                    let window = producer.audioLevel!.takeWindow()
                    // Several audio tracks of one participant: the loudest speaks for it.
                    if let existing = windows[participant.id], let existingValue = existing {
                        windows[participant.id] = max(existingValue, window ?? 0)
                    } else {
                        windows[participant.id] = window
                    }
                }
            }
            if windows.isEmpty && router.speakers.scores.isEmpty && router.speakers.dominant == nil { continue }
            if let change = router.speakers.update(windows) {
                onEvent?(.activeSpeaker(room: router.name, participantID: change))
            }
            guard sendLevels else { continue }
            let levels = router.speakers.levels(limit: 3).map { AudioLevel(participantID: $0.id, level: ($0.level * 100).rounded() / 100) }
            if !levels.isEmpty || router.levelsAudible {
                onEvent?(.audioLevels(room: router.name, levels: levels))
            }
            router.levelsAudible = !levels.isEmpty
        }
    }

    public var statsSnapshot: WorkerStatsSnapshot {
        var snapshot = stats.snapshot
        snapshot.transports = transports.count
        snapshot.rooms = routers.count
        snapshot.producers = routers.values.reduce(0) { sum, router in
            sum + router.participants.values.reduce(0) { $0 + $1.producers.count }
        }
        snapshot.consumers = transports.values.reduce(0) { $0 + $1.consumers.count }
        return snapshot
    }

    /// The worker counts datagrams the kernel refused.
    func recordSendFailures(_ count: Int) {
        for _ in 0..<count { stats.drop(.sendFailed) }
    }

    // MARK: - Control operations

    public func publish(
        room: String, participantID: String, identity: String, remote: RemoteTransportParameters,
        tracks: [TrackParameters], now: ContinuousClock.Instant
    ) throws(MediaServerError) -> LocalTransportDescription {
        let router = routers[room] ?? Router(name: room)
        guard router.participants[participantID] == nil else { throw .participantExists }
        let transport = try makeTransport(id: participantID, identity: identity, publisher: true, remote: remote, now: now)
        let participant = RoomParticipant(id: participantID, identity: identity, transport: transport)
        for track in tracks {
            let producer = Producer(
                id: Self.producerID(participant: participantID, mid: track.mid), parameters: track, transport: transport,
                retransmission: retransmission)
            participant.producers.append(producer)
            transport.addProducer(producer)
        }
        router.add(participant)
        routers[room] = router
        owners[ObjectIdentifier(transport)] = .participant(room: room, id: participantID)
        log?("participant \(participantID) (\(identity)) publishes \(tracks.count) track(s) in \(room)")
        return describe(transport)
    }

    /// Subscribes to a participant's tracks: each offered slot (m-line) gets the first not yet
    /// taken producer of its kind. Returns what the answer must announce.
    public func subscribe(
        room: String, participantID: String, subscriptionID: String, identity: String,
        remote: RemoteTransportParameters, slots: [TrackParameters], now: ContinuousClock.Instant
    ) throws(MediaServerError) -> (LocalTransportDescription, [OutgoingTrack]) {
        guard let router = routers[room] else { throw .roomNotFound }
        guard let participant = router.participants[participantID] else { throw .participantNotFound }
        var available = participant.producers
        var assignments: [(TrackParameters, Producer)] = []
        for slot in slots {
            guard let index = available.firstIndex(where: {
                $0.kind == slot.kind && $0.parameters.codecName.lowercased() == slot.codecName.lowercased()
            }) else { continue }
            assignments.append((slot, available.remove(at: index)))
        }
        guard !assignments.isEmpty else { throw .nothingToSubscribe }
        let transport = try makeTransport(id: subscriptionID, identity: identity, publisher: false, remote: remote, now: now)
        let subscription = Subscription(id: subscriptionID, identity: identity, transport: transport)
        var outgoing: [OutgoingTrack] = []
        for (slot, producer) in assignments {
            let track = OutgoingTrack(
                mid: slot.mid, kind: slot.kind, ssrc: UInt32.random(in: 1...UInt32.max),
                cname: "chorus-\(participantID.prefix(8))", streamID: participantID, trackID: producer.id,
                rtxSSRC: slot.rtxPayloadType == nil ? nil : UInt32.random(in: 1...UInt32.max))
            let consumer = Consumer(
                id: "\(subscriptionID)-\(slot.mid)", producer: producer, transport: transport, track: track,
                payloadType: slot.payloadType, midExtensionID: slot.midExtensionID, rtxPayloadType: slot.rtxPayloadType,
                transportSequenceExtensionID: slot.transportSequenceExtensionID)
            consumer.open(owner: subscription)
            outgoing.append(track)
        }
        participant.subscriptions[subscriptionID] = subscription
        owners[ObjectIdentifier(transport)] = .subscription(room: room, participant: participantID, id: subscriptionID)
        log?("subscription \(subscriptionID) (\(identity)) to \(participantID) in \(room): \(outgoing.count) track(s)")
        return (describe(transport), outgoing)
    }

    public func unpublish(room: String, participantID: String) throws(MediaServerError) {
        guard let router = routers[room] else { throw .roomNotFound }
        guard let participant = router.participants[participantID] else { throw .participantNotFound }
        participant.transport.close(reason: "unpublished", queue: queue)
    }

    public func unsubscribe(room: String, participantID: String, subscriptionID: String) throws(MediaServerError) {
        guard let router = routers[room] else { throw .roomNotFound }
        guard let participant = router.participants[participantID] else { throw .participantNotFound }
        guard let subscription = participant.subscriptions[subscriptionID] else { throw .subscriptionNotFound }
        subscription.transport.close(reason: "unsubscribed", queue: queue)
    }

    public func setMute(
        room: String, participantID: String, kind: TrackKind, muted: Bool, byAdmin: Bool, now: ContinuousClock.Instant
    ) throws(MediaServerError) -> ParticipantState {
        guard let router = routers[room] else { throw .roomNotFound }
        guard let participant = router.participants[participantID] else { throw .participantNotFound }
        do {
            try router.setMute(participant: participant, kind: kind, muted: muted, byAdmin: byAdmin, now: now, queue: queue)
        } catch {
            throw .muteLockedByAdmin
        }
        log?("\(kind.rawValue) of \(participantID) in \(room) \(muted ? "muted" : "unmuted") by \(byAdmin ? "admin" : "self")")
        return state(of: participant)
    }

    public func roomState(_ room: String) -> RoomState? {
        guard let router = routers[room] else { return nil }
        return RoomState(
            name: room, participants: router.order.compactMap { router.participants[$0] }.map(state(of:)),
            activeSpeaker: router.speakers.dominant)
    }

    public func participantState(room: String, participantID: String) -> ParticipantState? {
        routers[room]?.participants[participantID].map(state(of:))
    }

    public var roomNames: [String] { routers.keys.sorted() }

    /// A WHEP subscription's layer preference: its video consumers forward `spatial` (capped to
    /// the layers their producer has), switching on that layer's next keyframe.
    public func setLayers(
        room: String, subscriptionID: String, spatial: Int, temporal: Int?, now: ContinuousClock.Instant
    ) throws(MediaServerError) -> SubscriptionState {
        guard let router = routers[room] else { throw .roomNotFound }
        for participant in router.participants.values {
            guard let subscription = participant.subscriptions[subscriptionID] else { continue }
            for consumer in subscription.consumers where consumer.track.kind == .video {
                consumer.setPreferredLayers(spatial: spatial, temporal: temporal, now: now, queue: queue)
            }
            return SubscriptionState(
                id: subscription.id, identity: subscription.identity, transportState: subscription.transport.state,
                tracks: subscription.consumers.map(Self.state(of:)))
        }
        throw .subscriptionNotFound
    }

    /// A WHEP subscription's transport (tests look at its round-trip time).
    func subscriberTransport(room: String, participant: String, subscription: String) -> WebRTCTransport? {
        routers[room]?.participants[participant]?.subscriptions[subscription]?.transport
    }

    /// What `identity` holds on this worker.
    public func usage(of identity: String) -> MediaUsage { usage[identity] ?? MediaUsage() }

    /// Closes every transport (shutdown): peers get close_notify.
    public func closeAll() {
        for transport in Array(transports.values) {
            transport.close(reason: "server shutting down", queue: queue)
        }
        queue.flush()
    }

    // MARK: - Internals

    private func makeTransport(
        id: String, identity: String, publisher: Bool, remote: RemoteTransportParameters, now: ContinuousClock.Instant
    ) throws(MediaServerError) -> WebRTCTransport {
        guard transports.count < maximumTransports else { throw .tooManyTransports }
        let transport: WebRTCTransport
        do {
            transport = try WebRTCTransport(
                id: id, local: .random(ufragPrefix: ufragPrefix), remote: remote, dtlsContext: dtlsContext, now: now,
                consentTimeout: consentTimeout, srtpBackend: srtpBackend)
        } catch {
            throw .failed("transport: \(error)")
        }
        transport.onEvent = { [unowned self] transport, event in
            self.handle(event, of: transport)
        }
        transports[ObjectIdentifier(transport)] = transport
        holders[ObjectIdentifier(transport)] = (identity, publisher)
        usage[identity, default: MediaUsage()].add(publisher: publisher, count: 1)
        transport.timers = timers
        // Due at once: the first tick files it at its real deadline.
        timers.schedule(transport, at: now)
        server.register(transport)
        return transport
    }

    private func describe(_ transport: WebRTCTransport) -> LocalTransportDescription {
        LocalTransportDescription(
            ice: transport.localICE, fingerprint: dtlsContext.certificate.fingerprint, candidate: announcedAddress,
            tcpCandidate: announcedTCPPort.map { TransportAddress(ip: announcedAddress.ip, port: $0, transport: .tcp) })
    }

    private func handle(_ event: TransportEvent, of transport: WebRTCTransport) {
        switch event {
        case .addressValidated(let address):
            server.bind(address, to: transport)
            // Every valid check, not only the first: a peer steered elsewhere since (its port
            // reused by another worker's peer) comes back with its next consent check.
            steerAddress?(address, true)
        case .connected:
            log?("transport \(transport.id) connected")
        case .closed(let reason):
            log?("transport \(transport.id) closed: \(reason)")
            release(transport)
        }
    }

    /// Frees a closed transport and whatever hangs on it: a publisher's producers, its
    /// subscriptions, and the room when it was the last participant.
    private func release(_ transport: WebRTCTransport) {
        let key = ObjectIdentifier(transport)
        for address in server.unregister(transport) { steerAddress?(address, false) }
        transports[key] = nil
        if let holder = holders.removeValue(forKey: key) {
            usage[holder.identity]?.add(publisher: holder.publisher, count: -1)
            if usage[holder.identity]?.transports == 0 { usage[holder.identity] = nil }
        }
        timers.remove(transport)
        transport.timers = nil
        guard let owner = owners.removeValue(forKey: key) else { return }
        switch owner {
        case .participant(let room, let id):
            guard let router = routers[room], let participant = router.removeParticipant(id) else { return }
            // Its producers close with their consumers (group participants' and WHEP
            // subscriptions' alike), then its own consumers of the others.
            participant.closeMedia()
            for subscription in participant.subscriptions.values {
                subscription.transport.close(reason: "publisher left", queue: queue)
            }
            if router.isEmpty { routers[room] = nil }
            onEvent?(.participantClosed(room: room, participantID: id, reason: transport.closeReason ?? "closed"))
        case .subscription(let room, let participantID, let id):
            guard let participant = routers[room]?.participants[participantID],
                let subscription = participant.subscriptions.removeValue(forKey: id)
            else { return }
            for consumer in subscription.consumers { consumer.close() }
        }
    }

    private func state(of participant: RoomParticipant) -> ParticipantState {
        let tracks = participant.producers.map { producer in
            TrackState(
                id: producer.id, mid: producer.parameters.mid, kind: producer.kind, source: producer.source,
                codec: producer.parameters.codecName,
                ssrc: producer.ssrc, muted: producer.paused, packetsIn: producer.packetsIn, bytesIn: producer.bytesIn,
                packetsDroppedMuted: producer.packetsDroppedWhilePaused,
                packetsOut: producer.consumers.reduce(0) { $0 + $1.packetsOut },
                bytesOut: producer.consumers.reduce(0) { $0 + $1.bytesOut },
                keyframeRequests: producer.keyframeRequests, consumers: producer.consumers.count,
                layers: producer.layers.map {
                    LayerState(spatial: $0.index, rid: $0.rid, ssrc: $0.ssrc, rtxSSRC: $0.rtxSSRC, packetsIn: $0.packetsIn, bytesIn: $0.bytesIn)
                })
        }
        let subscriptions = participant.subscriptions.values.sorted { $0.id < $1.id }.map { subscription in
            SubscriptionState(
                id: subscription.id, identity: subscription.identity, transportState: subscription.transport.state,
                tracks: subscription.consumers.map(Self.state(of:)),
                availableBitrate: subscription.transport.availableOutgoingBitrate.map { Int($0) })
        }
        let receiving = participant.consumers.values.sorted { $0.track.mid < $1.track.mid }.map(Self.state(of:))
        let audio = participant.mute[.audio] ?? MuteState()
        let video = participant.mute[.video] ?? MuteState()
        return ParticipantState(
            id: participant.id, identity: participant.identity, transportState: participant.transport.state,
            audio: audio, video: video, audioMuted: audio.isMuted, videoMuted: video.isMuted, tracks: tracks,
            subscriptions: subscriptions, receiving: receiving,
            availableBitrate: participant.transport.availableOutgoingBitrate.map { Int($0) })
    }

    private static func state(of consumer: Consumer) -> ConsumerState {
        ConsumerState(
            id: consumer.id, kind: consumer.track.kind, source: consumer.producer.source, producerId: consumer.producer.id,
            mid: consumer.track.mid, ssrc: consumer.track.ssrc, packetsOut: consumer.packetsOut, bytesOut: consumer.bytesOut,
            packetsDroppedWaitingForKeyframe: consumer.packetsDroppedWaitingForKeyframe,
            spatialLayer: consumer.currentLayer, targetSpatialLayer: consumer.targetLayer,
            temporalLayer: consumer.preferredTemporalLayer, forwardedTemporalLayer: consumer.temporalLayer,
            packetsDroppedTemporalLayer: consumer.packetsDroppedTemporalLayer, pausedForBandwidth: consumer.pausedForBandwidth)
    }
}

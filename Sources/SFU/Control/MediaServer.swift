// The SFU's control API, the only thing Signaling calls: create and close publishers and
// subscriptions, mute, and read room state. Each call hops onto the worker that owns the room.

import Glibc
import ICE
import Logging
import RTP

public struct MediaServerConfiguration: Sendable {
    public var host: String
    public var udpPort: UInt16
    /// ICE-TCP (RFC 6544 passive candidates): nil for none; else like `udpPort`, one port
    /// shared by the workers when they share the UDP port, else worker i on `tcpPort + i`
    /// (kernel-chosen ports when 0).
    public var tcpPort: UInt16?
    public var announcedIP: String
    public var consentTimeout: Duration
    public var srtpBackend: SRTPBackend
    /// Worker threads, each with its own UDP socket, event loop and rooms (see `portSharing`).
    public var workers: Int
    public var portSharing: UDPPortSharing
    /// Transports one worker may hold; more are refused (`tooManyTransports`).
    public var maximumTransportsPerWorker: Int
    /// Losses repaired by Chorus (history and NACKs to publishers) or only passed on to the
    /// publisher (see MediaCore.retransmission).
    public var retransmission: Bool

    public init(
        host: String = "127.0.0.1", udpPort: UInt16 = 40000, tcpPort: UInt16? = nil, announcedIP: String = "127.0.0.1",
        consentTimeout: Duration = .seconds(30), srtpBackend: SRTPBackend = .default, workers: Int = 1,
        portSharing: UDPPortSharing = .automatic, maximumTransportsPerWorker: Int = 10_000, retransmission: Bool = true
    ) {
        self.maximumTransportsPerWorker = max(1, maximumTransportsPerWorker)
        self.retransmission = retransmission
        self.workers = max(1, min(workers, SharedPortUfrag.maximumWorkers))
        self.portSharing = portSharing
        self.srtpBackend = srtpBackend
        self.host = host
        self.udpPort = udpPort
        self.tcpPort = tcpPort
        self.announcedIP = announcedIP
        self.consentTimeout = consentTimeout
    }
}

/// How several workers receive media.
public enum UDPPortSharing: String, Sendable, CaseIterable {
    /// All workers on `udpPort` (SO_REUSEPORT), each peer's datagrams steered to the worker of
    /// its room by an eBPF program; the kernel's own SO_REUSEPORT spreading hashes 4-tuples,
    /// which would scatter a room's peers over workers. Needs CAP_BPF and CAP_NET_ADMIN (root).
    case shared
    /// Worker i on `udpPort + i` (kernel-chosen ports when `udpPort` is 0), announced for its
    /// rooms: no privileges needed, a range of ports to open.
    case perWorker = "per-worker"
    /// `shared` when the eBPF steering can be set up, else `perWorker`.
    case automatic = "auto"
}

public final class MediaServer: Sendable {
    public let configuration: MediaServerConfiguration
    public let dtlsContext: DTLSContext
    /// Rooms are placed on a worker by a hash of their name; all of a room's transports live there.
    private let workers: [Worker]
    /// Media events of every worker (see `MediaEvent`), for Signaling to follow.
    public let events: AsyncStream<MediaEvent>
    private let eventsContinuation: AsyncStream<MediaEvent>.Continuation

    public init(configuration: MediaServerConfiguration, logger: Logger) throws {
        self.configuration = configuration
        let certificate = try DTLSCertificate()
        dtlsContext = try DTLSContext(certificate: certificate)
        let (events, continuation) = AsyncStream.makeStream(of: MediaEvent.self)
        self.events = events
        eventsContinuation = continuation
        var sockets: [UDPSocket] = []
        var steering: ReuseportSteering?
        if configuration.workers > 1, configuration.portSharing != .perWorker {
            do {
                let first = try UDPSocket(host: configuration.host, port: configuration.udpPort, reusePort: true)
                sockets = [first]
                for _ in 1..<configuration.workers {
                    sockets.append(try UDPSocket(host: configuration.host, port: first.localPort, reusePort: true))
                }
                steering = try ReuseportSteering(sockets: sockets.map(\.fd))
            } catch where configuration.portSharing == .automatic {
                logger.warning("media workers fall back to one UDP port each: cannot share one (\(error))")
                sockets = []
            }
        }
        if steering == nil {
            for index in 0..<configuration.workers {
                let port = configuration.udpPort == 0 ? 0 : Int(configuration.udpPort) + index
                guard port <= Int(UInt16.max) else { throw UDPSocketError.system("udp port \(port)", EINVAL) }
                sockets.append(try UDPSocket(host: configuration.host, port: UInt16(port)))
            }
        }
        let listeners = try Self.tcpListeners(configuration, shared: steering != nil)
        var workers: [Worker] = []
        for (index, socket) in sockets.enumerated() {
            workers.append(try Worker(
                index: index, socket: socket, tcpListener: listeners?[index], announcedIP: configuration.announcedIP,
                dtlsContext: dtlsContext,
                consentTimeout: configuration.consentTimeout, srtpBackend: configuration.srtpBackend, logger: logger,
                maximumTransports: configuration.maximumTransportsPerWorker, retransmission: configuration.retransmission,
                events: continuation))
        }
        if let steering {
            for worker in workers { worker.share(steering, with: workers) }
        }
        self.workers = workers
        sharesPort = steering != nil
    }

    /// True when the workers share one UDP port (see UDPPortSharing.shared).
    public let sharesPort: Bool

    /// One ICE-TCP listener per worker, as the UDP sockets are laid out: all on one port
    /// (SO_REUSEPORT: connections reach their room's worker by hand-off) or one port each.
    private static func tcpListeners(_ configuration: MediaServerConfiguration, shared: Bool) throws -> [TCPListener]? {
        guard let tcpPort = configuration.tcpPort else { return nil }
        var listeners: [TCPListener] = []
        for index in 0..<configuration.workers {
            if shared {
                let port = listeners.first?.localPort ?? tcpPort
                listeners.append(try TCPListener(host: configuration.host, port: port, reusePort: true))
            } else {
                let port = tcpPort == 0 ? 0 : Int(tcpPort) + index
                guard port <= Int(UInt16.max) else { throw UDPSocketError.system("tcp port \(port)", EINVAL) }
                listeners.append(try TCPListener(host: configuration.host, port: UInt16(port)))
            }
        }
        return listeners
    }

    public func start() {
        for worker in workers { worker.start() }
    }

    /// Closes all transports and stops the workers' threads.
    public func shutdown() {
        for worker in workers { worker.shutdown() }
        eventsContinuation.finish()
    }

    /// The first worker's UDP port (the configured one, or the one the kernel chose for port 0);
    /// every worker's port answers STUN, so this one is the STUN server clients are given.
    public var udpPort: UInt16 { workers[0].localPort }
    public var udpPorts: [UInt16] { workers.map(\.localPort) }
    /// The workers' ICE-TCP ports (one value each; equal when shared); empty without ICE-TCP.
    public var tcpPorts: [UInt16] { workers.compactMap(\.tcpPort) }
    public var fingerprint: DTLSFingerprint { dtlsContext.certificate.fingerprint }

    func worker(for room: String) -> Worker {
        var hash: UInt64 = 1_469_598_103_934_665_603
        for byte in room.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        return workers[Int(hash % UInt64(workers.count))]
    }

    public func publish(
        room: String, participantID: String, identity: String, remote: RemoteTransportParameters, tracks: [TrackParameters]
    ) async throws -> LocalTransportDescription {
        try await worker(for: room).run { core, now in
            try core.publish(room: room, participantID: participantID, identity: identity, remote: remote, tracks: tracks, now: now)
        }
    }

    public func subscribe(
        room: String, participantID: String, subscriptionID: String, identity: String,
        remote: RemoteTransportParameters, slots: [TrackParameters]
    ) async throws -> (LocalTransportDescription, [OutgoingTrack]) {
        try await worker(for: room).run { core, now in
            try core.subscribe(
                room: room, participantID: participantID, subscriptionID: subscriptionID, identity: identity,
                remote: remote, slots: slots, now: now)
        }
    }

    public func unpublish(room: String, participantID: String) async throws {
        try await worker(for: room).run { core, _ in try core.unpublish(room: room, participantID: participantID) }
    }

    public func unsubscribe(room: String, participantID: String, subscriptionID: String) async throws {
        try await worker(for: room).run { core, _ in
            try core.unsubscribe(room: room, participantID: participantID, subscriptionID: subscriptionID)
        }
    }

    /// A WHEP subscription's layer preference (`POST /api/rooms/{room}/subscriptions/{id}/layers`).
    public func setLayers(room: String, subscriptionID: String, spatial: Int, temporal: Int?) async throws -> SubscriptionState {
        try await worker(for: room).run { core, now in
            try core.setLayers(room: room, subscriptionID: subscriptionID, spatial: spatial, temporal: temporal, now: now)
        }
    }

    public func setMute(room: String, participantID: String, kind: TrackKind, muted: Bool, byAdmin: Bool) async throws -> ParticipantState {
        try await worker(for: room).run { core, now in
            try core.setMute(room: room, participantID: participantID, kind: kind, muted: muted, byAdmin: byAdmin, now: now)
        }
    }

    // MARK: - Group calls (see MediaCore+Group.swift)

    public func addProducers(room: String, participantID: String, tracks: [TrackParameters]) async throws -> [String] {
        try await worker(for: room).run { core, now in
            try core.addProducers(room: room, participantID: participantID, tracks: tracks, now: now)
        }
    }

    public func removeProducers(room: String, participantID: String, mids: [String]) async throws {
        try await worker(for: room).run { core, _ in try core.removeProducers(room: room, participantID: participantID, mids: mids) }
    }

    public func consume(room: String, participantID: String, requests: [ConsumerRequest]) async throws -> [String] {
        try await worker(for: room).run { core, now in
            try core.consume(room: room, participantID: participantID, requests: requests, now: now)
        }
    }

    /// A group participant's layer preference for another participant's video (`sfu-layers`).
    public func setLayers(
        room: String, participantID: String, publisherID: String, spatial: Int, temporal: Int? = nil
    ) async throws {
        try await worker(for: room).run { core, now in
            try core.setLayers(
                room: room, participantID: participantID, publisherID: publisherID, spatial: spatial, temporal: temporal,
                now: now)
        }
    }

    public func stopConsuming(room: String, participantID: String, mids: [String]) async throws {
        try await worker(for: room).run { core, _ in try core.stopConsuming(room: room, participantID: participantID, mids: mids) }
    }

    public func roomState(_ room: String) async throws -> RoomState? {
        try await worker(for: room).run { core, _ in core.roomState(room) }
    }

    public func participantState(room: String, participantID: String) async throws -> ParticipantState? {
        try await worker(for: room).run { core, _ in core.participantState(room: room, participantID: participantID) }
    }

    /// What `identity` holds on every worker (its rooms may be spread over all of them).
    public func usage(of identity: String) async throws -> MediaUsage {
        var total = MediaUsage()
        for worker in workers {
            total = total + (try await worker.run { core, _ in core.usage(of: identity) })
        }
        return total
    }

    /// Counters summed over all workers.
    public func stats() async throws -> WorkerStatsSnapshot {
        var total = WorkerStatsSnapshot()
        for worker in workers {
            let s = try await worker.statsSnapshot()
            total.packetsIn += s.packetsIn
            total.bytesIn += s.bytesIn
            total.packetsOut += s.packetsOut
            total.bytesOut += s.bytesOut
            for i in total.dropped.indices { total.dropped[i] += s.dropped[i] }
            total.transports += s.transports
            total.rooms += s.rooms
            total.producers += s.producers
            total.consumers += s.consumers
            total.stunHandedOff += s.stunHandedOff
            for i in total.feedback.indices { total.feedback[i] += s.feedback[i] }
            for i in total.roundTripBuckets.indices { total.roundTripBuckets[i] += s.roundTripBuckets[i] }
            total.roundTripSum += s.roundTripSum
            total.roundTripCount += s.roundTripCount
            total.iceTCP = total.iceTCP + s.iceTCP
        }
        return total
    }
}

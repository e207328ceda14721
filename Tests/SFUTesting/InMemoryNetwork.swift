// A simulated UDP network between one MediaCore (the SFU) and ClientTransports, with a fake
// clock, latency and seeded loss, in the manner of str0m's in-memory tests. Time only moves
// when the caller says so, and every datagram and timer fires in a fixed order. Shared by the
// SFU's scenario tests and the forwarding benchmarks (which connect their room through it).

import ChorusTestSupport
import Glibc
import ICE
import RTP
import SFU

/// One client of the SFU: its identity (ICE credentials, certificate), its transport once the
/// SFU answered, and every event the transport reported.
public final class Peer {
    public let name: String
    public let address: TransportAddress
    public let ice = ICECredentials.random()
    public let dtlsContext: DTLSContext
    public private(set) var transport: ClientTransport!
    public var events: [ClientEvent] = []

    public init(name: String, address: TransportAddress, dtlsContext: DTLSContext) {
        self.name = name
        self.address = address
        self.dtlsContext = dtlsContext
    }

    /// What MediaCore.publish/subscribe get as the remote side.
    public var offer: RemoteTransportParameters { ClientTransport.offer(localICE: ice, dtlsContext: dtlsContext) }

    public func attach(answer: LocalTransportDescription, configuration: ClientTransportConfiguration, now: ContinuousClock.Instant) throws {
        transport = try ClientTransport(
            localICE: ice, remote: answer, localAddress: address, dtlsContext: dtlsContext,
            configuration: configuration, now: now)
    }

    public var rtp: [ClientRTPPacket] {
        events.compactMap { if case .rtp(let packet) = $0 { packet } else { nil } }
    }

    public func rtp(ssrc: UInt32) -> [ClientRTPPacket] { rtp.filter { $0.ssrc == ssrc } }

    /// Every RTCP packet received, compounds flattened.
    public var rtcp: [RTCPPacket] {
        events.flatMap { event -> [RTCPPacket] in
            if case .rtcp(let packets) = event { packets } else { [] }
        }
    }

    public var pictureLossIndications: [PictureLossIndication] {
        rtcp.compactMap { if case .pictureLossIndication(let pli) = $0 { pli } else { nil } }
    }

    public var nacks: [GenericNACK] {
        rtcp.compactMap { if case .nack(let nack) = $0 { nack } else { nil } }
    }

    public var senderReports: [SenderReport] {
        rtcp.compactMap { if case .senderReport(let report) = $0 { report } else { nil } }
    }

    public var receiverReports: [ReceiverReport] {
        rtcp.compactMap { if case .receiverReport(let report) = $0 { report } else { nil } }
    }

    public var wasClosed: Bool { events.contains(.closed) }
}

public final class InMemoryNetwork {
    public struct Datagram {
        public var bytes: [UInt8]
        public var source: TransportAddress
        public var destination: TransportAddress
        public var deliverAt: ContinuousClock.Instant
    }

    /// RFC 7983 classes, so that loss can be drawn per class (see `lossGenerators`).
    public enum Kind: Hashable {
        case stun, dtls, media, other

        public init(firstByte: UInt8?) {
            switch firstByte {
            case .some(0...3): self = .stun
            case .some(20...63): self = .dtls
            case .some(128...191): self = .media
            default: self = .other
            }
        }
    }

    public let serverAddress = TransportAddress(ip: .v4(10, 0, 0, 1), port: 40000)
    public let serverContext: DTLSContext
    public let core: MediaCore
    public let clientConfiguration: ClientTransportConfiguration
    public private(set) var now: ContinuousClock.Instant
    private let origin: ContinuousClock.Instant
    /// What the SFU's wall clock says at `origin` (2027-01-15, any fixed value works).
    private let wallOrigin: UInt64 = 1_800_000_000 * 1_000_000_000
    public private(set) var peers: [TransportAddress: Peer] = [:]
    private var inFlight: [Datagram] = []
    private var nextCoreTick: ContinuousClock.Instant
    private var peerCount = 0


    /// One-way delay of every datagram.
    public var latency: Duration = .zero
    /// Probability that a datagram to the SFU, or to a client, is lost.
    public var lossToServer = 0.0
    public var lossToClients = 0.0
    /// Returns true for datagrams the test wants dropped (a peer that goes silent, ...).
    public var blocks: ((Datagram) -> Bool)?
    /// Called with every datagram as it is sent (before loss), for tests that replay or look.
    public var tap: ((Datagram) -> Void)?
    /// Told of a network that does not settle (two endpoints answering each other forever);
    /// tests record it as a failure, the default stops the program.
    public var reportProblem: (String) -> Void = { preconditionFailure($0) }
    public private(set) var lostCount = 0
    public private(set) var undeliverableCount = 0
    /// Loss is drawn from one generator per direction and class: how many STUN checks a
    /// timing-dependent run sends then cannot shift which DTLS or media datagrams are lost.
    private var lossGenerators: [String: SeededGenerator] = [:]
    private let seed: UInt64

    /// OpenSSL checks DTLS retransmission timers against the wall clock, so a test with loss
    /// lets the fake clock run no faster than the real one while handshakes may need them.
    public var pacedByWallClock = false {
        didSet { paceAnchor = (now, .now) }
    }
    private var paceAnchor: (fake: ContinuousClock.Instant, real: ContinuousClock.Instant) = (.now, .now)

    /// `profiles`: the SRTP profiles the SFU and the peers offer in DTLS (the default: both,
    /// GCM first, as in a real server).
    public init(
        seed: UInt64 = 1, clientConfiguration: ClientTransportConfiguration = ClientTransportConfiguration(),
        consentTimeout: Duration = .seconds(30), srtpBackend: SRTPBackend = .default, profiles: [SRTPProfile]? = nil
    ) throws {
        self.seed = seed
        self.clientConfiguration = clientConfiguration
        self.profiles = profiles
        serverContext = try Self.dtlsContext(profiles)
        now = .now
        origin = now
        nextCoreTick = now + MediaCore.tickInterval
        let outbox = Outbox()
        self.outbox = outbox
        core = MediaCore(
            dtlsContext: serverContext, announcedAddress: serverAddress, consentTimeout: consentTimeout,
            srtpBackend: srtpBackend, queue: SendQueue(capacity: 64) { outbox.take($0) })
    }

    private let profiles: [SRTPProfile]?
    private let outbox: Outbox

    /// What the SFU's SendQueue hands over: datagrams for the network, or (once `countOnly`)
    /// only their number, as a benchmark's measured loop wants it.
    private final class Outbox {
        var countOnly = false
        var collected: [(bytes: [UInt8], destination: TransportAddress)] = []
        var counted = 0

        func take(_ queue: SendQueue) {
            if countOnly {
                counted &+= queue.count
            } else {
                for i in 0..<queue.count {
                    let (bytes, destination) = queue.datagram(i)
                    collected.append((Array(bytes), destination))
                }
            }
        }

        func drain() -> [(bytes: [UInt8], destination: TransportAddress)] {
            defer { collected.removeAll() }
            return collected
        }
    }

    /// From now on the SFU's output is counted (`countedDatagrams`), not delivered: for a
    /// benchmark that feeds the core directly once its peers are connected.
    public func countSFUOutputOnly() {
        core.queue.flush()
        outbox.collected.removeAll()
        outbox.countOnly = true
        outbox.counted = 0
    }

    public var countedDatagrams: Int {
        get { outbox.counted }
        set { outbox.counted = newValue }
    }

    private static func dtlsContext(_ profiles: [SRTPProfile]?) throws -> DTLSContext {
        if let profiles { return try DTLSContext(certificate: DTLSCertificate(), profiles: profiles) }
        return try DTLSContext(certificate: DTLSCertificate())
    }

    public var wallClockNanoseconds: UInt64 {
        let elapsed = now - origin
        return wallOrigin + UInt64(elapsed.components.seconds) * 1_000_000_000
            + UInt64(elapsed.components.attoseconds / 1_000_000_000)
    }

    // MARK: - Peers

    public func makePeer(_ name: String) throws -> Peer {
        // 200 hosts of TEST-NET-1 (RFC 5737), then the next port on each: fan-outs of hundreds.
        let address = TransportAddress(
            ip: .v4(192, 0, 2, UInt8(10 + peerCount % 200)), port: UInt16(50000 + peerCount / 200))
        peerCount += 1
        let peer = Peer(name: name, address: address, dtlsContext: try Self.dtlsContext(profiles))
        peers[address] = peer
        return peer
    }

    /// Creates the peer's transport from the SFU's answer and runs until it is connected.
    public func connect(_ peer: Peer, answer: LocalTransportDescription, within limit: Duration = .seconds(10)) throws {
        try attach(peer, answer: answer)
        run(until: { peer.transport.isConnected }, limit: limit)
    }

    /// Creates the peer's transport (its first check is queued) without running the network.
    public func attach(_ peer: Peer, answer: LocalTransportDescription) throws {
        try peer.attach(answer: answer, configuration: clientConfiguration, now: now)
        collectOutputs()
    }

    // MARK: - Time

    /// Advances the fake clock by `duration`, firing every timer and delivery on the way.
    public func advance(by duration: Duration) {
        let end = now + duration
        while true {
            deliverDue()
            let next = nextEvent()
            guard next <= end else { break }
            setNow(next)
            fireTimers()
        }
        setNow(end)
        deliverDue()
    }

    /// Advances until `condition` holds or `limit` has passed; returns whether it holds.
    @discardableResult
    public func run(until condition: () -> Bool, limit: Duration = .seconds(10)) -> Bool {
        let end = now + limit
        deliverDue()
        while !condition() {
            let next = nextEvent()
            guard next <= end else {
                setNow(end)
                return condition()
            }
            setNow(next)
            fireTimers()
            deliverDue()
        }
        return true
    }

    /// Delivers what is due now (with zero latency: everything, until the network is quiet).
    public func settle() { deliverDue() }

    // MARK: - Injection

    /// Puts raw bytes on the wire, as if `source` had sent them (no loss, no block).
    public func inject(_ bytes: [UInt8], from source: TransportAddress, to destination: TransportAddress? = nil) {
        inFlight.append(Datagram(bytes: bytes, source: source, destination: destination ?? serverAddress, deliverAt: now + latency))
        deliverDue()
    }

    // MARK: - Internals

    private func setNow(_ instant: ContinuousClock.Instant) {
        guard instant > now else { return }
        if pacedByWallClock {
            let realDeadline = paceAnchor.real + (instant - paceAnchor.fake)
            let wait = realDeadline - .now
            if wait > .zero {
                let micros = wait.components.seconds * 1_000_000 + wait.components.attoseconds / 1_000_000_000_000
                usleep(UInt32(micros))
            }
        }
        now = instant
    }

    private func nextEvent() -> ContinuousClock.Instant {
        var next = nextCoreTick
        for peer in peers.values {
            if let deadline = peer.transport?.nextTimeout { next = min(next, deadline) }
        }
        for datagram in inFlight { next = min(next, datagram.deliverAt) }
        // A deadline already past (a timer that did not move) must not stall the clock.
        return max(next, now + .microseconds(1))
    }

    private func fireTimers() {
        if now >= nextCoreTick {
            nextCoreTick = now + MediaCore.tickInterval
            core.tick(now: now, wallClockNanoseconds: wallClockNanoseconds)
        }
        for address in peers.keys.sorted(by: { $0.description < $1.description }) {
            let peer = peers[address]!
            guard let transport = peer.transport, let deadline = transport.nextTimeout, deadline <= now else { continue }
            transport.handleTimeout(now: now)
        }
        collectOutputs()
    }

    private func deliverDue() {
        collectOutputs()
        // Bounded, in case two endpoints ever answered each other forever.
        for _ in 0..<100_000 {
            guard let index = inFlight.firstIndex(where: { $0.deliverAt <= now }) else { return }
            let datagram = inFlight.remove(at: index)
            deliver(datagram)
            collectOutputs()
        }
        reportProblem("network did not settle")
    }

    private func deliver(_ datagram: Datagram) {
        if datagram.destination == serverAddress {
            var bytes = datagram.bytes
            bytes.withUnsafeMutableBytes { core.handleDatagram($0, from: datagram.source, now: now) }
            core.queue.flush()
        } else if let transport = peers[datagram.destination]?.transport {
            transport.handle(datagram: datagram.bytes, from: datagram.source, now: now)
        } else {
            undeliverableCount += 1
        }
    }

    /// Moves everything the SFU and the clients queued onto the wire, and clients' events to
    /// their peers.
    private func collectOutputs() {
        core.queue.flush()
        for (bytes, destination) in outbox.drain() {
            send(Datagram(bytes: bytes, source: serverAddress, destination: destination, deliverAt: now + latency))
        }
        for address in peers.keys.sorted(by: { $0.description < $1.description }) {
            let peer = peers[address]!
            guard let transport = peer.transport else { continue }
            while let datagram = transport.pollTransmit() {
                send(Datagram(bytes: datagram.bytes, source: datagram.source, destination: datagram.destination, deliverAt: now + latency))
            }
            while let event = transport.pollEvent() { peer.events.append(event) }
        }
    }

    private func send(_ datagram: Datagram) {
        tap?(datagram)
        if let blocks, blocks(datagram) {
            lostCount += 1
            return
        }
        let toServer = datagram.destination == serverAddress
        let probability = toServer ? lossToServer : lossToClients
        if probability > 0 {
            let key = "\(toServer)-\(Kind(firstByte: datagram.bytes.first))"
            // A stable hash of the key (String.hashValue is seeded per process).
            let keyHash = key.utf8.reduce(UInt64(0)) { $0 &* 31 &+ UInt64($1) }
            var generator = lossGenerators[key] ?? SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ keyHash)
            let roll = Double.random(in: 0..<1, using: &generator)
            lossGenerators[key] = generator
            if roll < probability {
                lostCount += 1
                return
            }
        }
        inFlight.append(datagram)
    }
}

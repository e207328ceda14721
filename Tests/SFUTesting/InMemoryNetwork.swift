// Test support: a simulated UDP network between one MediaCore (the SFU) and ClientTransports,
// with a fake clock, latency and seeded loss, in the manner of str0m's in-memory tests. Time
// only moves when a test says so, and every datagram and timer fires in a fixed order.

import ChorusTestSupport
import Glibc
import ICE
import Testing
import RTP
@testable import SFU

/// One client of the SFU: its identity (ICE credentials, certificate), its transport once the
/// SFU answered, and every event the transport reported.
final class Peer {
    let name: String
    let address: TransportAddress
    let ice = ICECredentials.random()
    let dtlsContext: DTLSContext
    private(set) var transport: ClientTransport!
    var events: [ClientEvent] = []

    init(name: String, address: TransportAddress, dtlsContext: DTLSContext) {
        self.name = name
        self.address = address
        self.dtlsContext = dtlsContext
    }

    /// What MediaCore.publish/subscribe get as the remote side.
    var offer: RemoteTransportParameters { ClientTransport.offer(localICE: ice, dtlsContext: dtlsContext) }

    func attach(answer: LocalTransportDescription, configuration: ClientTransportConfiguration, now: ContinuousClock.Instant) throws {
        transport = try ClientTransport(
            localICE: ice, remote: answer, localAddress: address, dtlsContext: dtlsContext,
            configuration: configuration, now: now)
    }

    var rtp: [ClientRTPPacket] {
        events.compactMap { if case .rtp(let packet) = $0 { packet } else { nil } }
    }

    func rtp(ssrc: UInt32) -> [ClientRTPPacket] { rtp.filter { $0.ssrc == ssrc } }

    /// Every RTCP packet received, compounds flattened.
    var rtcp: [RTCPPacket] {
        events.flatMap { event -> [RTCPPacket] in
            if case .rtcp(let packets) = event { packets } else { [] }
        }
    }

    var pictureLossIndications: [PictureLossIndication] {
        rtcp.compactMap { if case .pictureLossIndication(let pli) = $0 { pli } else { nil } }
    }

    var nacks: [GenericNACK] {
        rtcp.compactMap { if case .nack(let nack) = $0 { nack } else { nil } }
    }

    var senderReports: [SenderReport] {
        rtcp.compactMap { if case .senderReport(let report) = $0 { report } else { nil } }
    }

    var receiverReports: [ReceiverReport] {
        rtcp.compactMap { if case .receiverReport(let report) = $0 { report } else { nil } }
    }

    var wasClosed: Bool { events.contains(.closed) }
}

final class InMemoryNetwork {
    struct Datagram {
        var bytes: [UInt8]
        var source: TransportAddress
        var destination: TransportAddress
        var deliverAt: ContinuousClock.Instant
    }

    /// RFC 7983 classes, so that loss can be drawn per class (see `lossGenerators`).
    enum Kind: Hashable {
        case stun, dtls, media, other

        init(firstByte: UInt8?) {
            switch firstByte {
            case .some(0...3): self = .stun
            case .some(20...63): self = .dtls
            case .some(128...191): self = .media
            default: self = .other
            }
        }
    }

    let serverAddress = TransportAddress(ip: .v4(10, 0, 0, 1), port: 40000)
    let serverContext: DTLSContext
    let core: MediaCore
    let clientConfiguration: ClientTransportConfiguration
    private(set) var now: ContinuousClock.Instant
    private let origin: ContinuousClock.Instant
    /// What the SFU's wall clock says at `origin` (2027-01-15, any fixed value works).
    private let wallOrigin: UInt64 = 1_800_000_000 * 1_000_000_000
    private(set) var peers: [TransportAddress: Peer] = [:]
    private var inFlight: [Datagram] = []
    private var nextCoreTick: ContinuousClock.Instant
    private var nextPeerHost: UInt8 = 10

    /// The worker's timer tick (Worker.tick).
    static let coreTick: Duration = .milliseconds(20)

    /// One-way delay of every datagram.
    var latency: Duration = .zero
    /// Probability that a datagram to the SFU, or to a client, is lost.
    var lossToServer = 0.0
    var lossToClients = 0.0
    /// Returns true for datagrams the test wants dropped (a peer that goes silent, ...).
    var blocks: ((Datagram) -> Bool)?
    /// Called with every datagram as it is sent (before loss), for tests that replay or look.
    var tap: ((Datagram) -> Void)?
    private(set) var lostCount = 0
    private(set) var undeliverableCount = 0
    /// Loss is drawn from one generator per direction and class: how many STUN checks a
    /// timing-dependent run sends then cannot shift which DTLS or media datagrams are lost.
    private var lossGenerators: [String: SeededGenerator] = [:]
    private let seed: UInt64

    /// OpenSSL checks DTLS retransmission timers against the wall clock, so a test with loss
    /// lets the fake clock run no faster than the real one while handshakes may need them.
    var pacedByWallClock = false {
        didSet { paceAnchor = (now, .now) }
    }
    private var paceAnchor: (fake: ContinuousClock.Instant, real: ContinuousClock.Instant) = (.now, .now)

    init(
        seed: UInt64 = 1, clientConfiguration: ClientTransportConfiguration = ClientTransportConfiguration(),
        consentTimeout: Duration = .seconds(30), srtpBackend: SRTPBackend = .default
    ) throws {
        self.seed = seed
        self.clientConfiguration = clientConfiguration
        serverContext = try DTLSContext(certificate: DTLSCertificate())
        now = .now
        origin = now
        nextCoreTick = now + Self.coreTick
        var collected: [(bytes: [UInt8], destination: TransportAddress)] = []
        let queue = SendQueue(capacity: 64) { queue in
            for i in 0..<queue.count {
                let (bytes, destination) = queue.datagram(i)
                collected.append((Array(bytes), destination))
            }
            queue.removeAll()
        }
        core = MediaCore(
            dtlsContext: serverContext, announcedAddress: serverAddress, consentTimeout: consentTimeout,
            srtpBackend: srtpBackend, queue: queue)
        // The flush handler cannot capture self before init ends; it hands over through here.
        drainCore = {
            let batch = collected
            collected.removeAll()
            return batch
        }
    }

    private var drainCore: () -> [(bytes: [UInt8], destination: TransportAddress)] = { [] }

    var wallClockNanoseconds: UInt64 {
        let elapsed = now - origin
        return wallOrigin + UInt64(elapsed.components.seconds) * 1_000_000_000
            + UInt64(elapsed.components.attoseconds / 1_000_000_000)
    }

    // MARK: - Peers

    func makePeer(_ name: String) throws -> Peer {
        let address = TransportAddress(ip: .v4(192, 0, 2, nextPeerHost), port: 50000)
        nextPeerHost += 1
        let peer = Peer(name: name, address: address, dtlsContext: try DTLSContext(certificate: DTLSCertificate()))
        peers[address] = peer
        return peer
    }

    /// Creates the peer's transport from the SFU's answer and runs until it is connected.
    func connect(_ peer: Peer, answer: LocalTransportDescription, within limit: Duration = .seconds(10)) throws {
        try attach(peer, answer: answer)
        run(until: { peer.transport.isConnected }, limit: limit)
    }

    /// Creates the peer's transport (its first check is queued) without running the network.
    func attach(_ peer: Peer, answer: LocalTransportDescription) throws {
        try peer.attach(answer: answer, configuration: clientConfiguration, now: now)
        collectOutputs()
    }

    // MARK: - Time

    /// Advances the fake clock by `duration`, firing every timer and delivery on the way.
    func advance(by duration: Duration) {
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
    func run(until condition: () -> Bool, limit: Duration = .seconds(10)) -> Bool {
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
    func settle() { deliverDue() }

    // MARK: - Injection

    /// Puts raw bytes on the wire, as if `source` had sent them (no loss, no block).
    func inject(_ bytes: [UInt8], from source: TransportAddress, to destination: TransportAddress? = nil) {
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
            nextCoreTick = now + Self.coreTick
            core.handleTimeout(now: now, wallClockNanoseconds: wallClockNanoseconds)
            core.queue.flush()
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
        Issue.record("network did not settle")
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
        for (bytes, destination) in drainCore() {
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

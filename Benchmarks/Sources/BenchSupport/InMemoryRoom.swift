// An SFU room in memory for the forwarding benchmark and its profiling probe: a MediaCore, one
// publisher and N subscribers, connected over real ICE, DTLS and SRTP by a loop that moves
// datagrams between them; afterwards the SFU's output is only counted.

import ICE
import RTP
import SFU

/// A MediaCore with one publisher (a VP8 track) and `fanOut` subscribers, all connected over
/// ICE, DTLS and SRTP through an in-memory loop; afterwards the SFU's output is only counted.
public final class InMemoryRoom {
    static let room = "bench"
    static let videoSSRC: UInt32 = 0x2222_2222
    /// The publisher's and the subscribers' RFC 8285 id of the MID extension (Chrome's number).
    static let midExtensionID: UInt8 = 4
    /// A 1200-byte packet: 12 bytes of fixed header, 16 of extensions (MID, abs-send-time,
    /// transport-cc, as Chrome sends them), and the VP8 payload.
    static let packetSize = 1200
    static let payloadSize = packetSize - 12 - 16

    public let serverAddress = TransportAddress(ip: .v4(10, 0, 0, 1), port: 40000)
    public let publisherAddress = TransportAddress(ip: .v4(192, 0, 2, 10), port: 50000)
    public let core: MediaCore
    public let publisher: ClientTransport
    public let subscribers: [ClientTransport]
    public let fanOut: Int
    public let batch: PacketBatch
    private let sink: Sink
    private var sequence = SequenceNumber(1)
    private var timestamp = RTPTimestamp(rawValue: 90_000)
    private let payload: [UInt8]

    /// The SendQueue's flush handler: while connecting it keeps datagrams for the clients; in
    /// the measured loop it counts them, as a worker hands them to sendmmsg.
    final class Sink {
        var collecting = true
        var collected: [(bytes: [UInt8], destination: TransportAddress)] = []
        var datagrams = 0

        func flush(_ queue: SendQueue) {
            if collecting {
                for i in 0..<queue.count {
                    let (bytes, destination) = queue.datagram(i)
                    collected.append((Array(bytes), destination))
                }
            } else {
                datagrams &+= queue.count
            }
        }
    }

    public init(fanOut: Int, profile: SRTPProfile, batchSize: Int) throws {
        self.fanOut = fanOut
        batch = PacketBatch(count: batchSize)
        let sink = Sink()
        self.sink = sink
        let serverContext = try DTLSContext(certificate: DTLSCertificate(), profiles: [profile])
        core = MediaCore(
            dtlsContext: serverContext, announcedAddress: serverAddress,
            queue: SendQueue(capacity: 64) { sink.flush($0) })
        let now = ContinuousClock.now

        // The publisher: one VP8 track with its SSRC in the SDP, as a WHIP offer has it.
        let publisherICE = ICECredentials.random()
        let publisherContext = try DTLSContext(certificate: DTLSCertificate(), profiles: [profile])
        let track = TrackParameters(
            mid: "1", kind: .video, codecName: "VP8", payloadType: 96, clockRate: 90_000, ssrc: Self.videoSSRC,
            midExtensionID: Self.midExtensionID)
        let publisherAnswer = try core.publish(
            room: Self.room, participantID: "publisher", identity: "publisher",
            remote: ClientTransport.offer(localICE: publisherICE, dtlsContext: publisherContext), tracks: [track],
            now: now)
        publisher = try ClientTransport(
            localICE: publisherICE, remote: publisherAnswer, localAddress: publisherAddress,
            dtlsContext: publisherContext, now: now)

        // The subscribers: one video slot each, in their own payload-type numbering.
        var subscribers: [ClientTransport] = []
        for index in 0..<fanOut {
            let ice = ICECredentials.random()
            let context = try DTLSContext(certificate: DTLSCertificate(), profiles: [profile])
            let slot = TrackParameters(
                mid: "0", kind: .video, codecName: "VP8", payloadType: 120, clockRate: 90_000,
                midExtensionID: Self.midExtensionID)
            let (answer, _) = try core.subscribe(
                room: Self.room, participantID: "publisher", subscriptionID: "subscriber-\(index)",
                identity: "subscriber-\(index)", remote: ClientTransport.offer(localICE: ice, dtlsContext: context),
                slots: [slot], now: now)
            subscribers.append(
                try ClientTransport(
                    localICE: ice, remote: answer, localAddress: TransportAddress(ip: .v4(192, 0, 2, UInt8(20 + index)), port: 50000),
                    dtlsContext: context, now: now))
        }
        self.subscribers = subscribers
        payload = (0..<Self.payloadSize).map { UInt8(truncatingIfNeeded: $0 &* 31) }

        pump(now: now)
        guard publisher.isConnected, subscribers.allSatisfy(\.isConnected) else {
            throw BenchmarkSetupError.notConnected(
                "publisher \(publisher.state), subscribers \(subscribers.map(\.state))")
        }
        guard publisher.srtpProfile == profile else {
            throw BenchmarkSetupError.notConnected("negotiated \(String(describing: publisher.srtpProfile)), not \(profile)")
        }

        // A keyframe first: consumers hold video back until one arrives. Then check that it
        // reached every subscriber, so that the measured loop really forwards.
        try send(keyframe: true)
        pump(now: now)
        for subscriber in subscribers {
            var received = 0
            while let event = subscriber.pollEvent() {
                if case .rtp(let packet) = event, packet.payload.count == Self.payloadSize { received += 1 }
            }
            guard received == 1 else { throw BenchmarkSetupError.notForwarding("a subscriber got \(received) packets") }
        }
        sink.collecting = false
        sink.collected.removeAll()
    }

    /// Moves datagrams between the clients and the SFU until nothing more is sent.
    private func pump(now: ContinuousClock.Instant) {
        let clients = [publisher] + subscribers
        let byAddress = Dictionary(uniqueKeysWithValues: clients.map { ($0.localAddress, $0) })
        for _ in 0..<100 {
            var moved = 0
            for client in clients {
                while let datagram = client.pollTransmit() {
                    moved += 1
                    var bytes = datagram.bytes
                    bytes.withUnsafeMutableBytes { core.handleDatagram($0, from: client.localAddress, now: now) }
                }
            }
            core.queue.flush()
            for (bytes, destination) in sink.collected {
                moved += 1
                byAddress[destination]?.handle(datagram: bytes, from: serverAddress, now: now)
            }
            sink.collected.removeAll()
            if moved == 0 { return }
        }
    }

    private func send(keyframe: Bool) throws {
        var body = payload
        // VP8 payload descriptor (RFC 7741 §4.2): S=1, PID=0; then the frame tag's P bit.
        body[0] = 0x10
        body[1] = keyframe ? 0x10 : 0x11
        try publisher.sendRTP(
            payloadType: 96, sequenceNumber: sequence, timestamp: timestamp, ssrc: Self.videoSSRC,
            marker: false, payload: body,
            extensions: [
                (id: Self.midExtensionID, data: Array("1".utf8)),
                (id: Fixtures.absSendTimeExtensionID, data: [0x12, 0x34, 0x56]),
                (id: Fixtures.transportCCExtensionID, data: [0x00, 0x2A]),
            ])
        sequence = sequence &+ 1
        timestamp = timestamp &+ 3000
    }

    /// Fills the batch with the publisher's next packets, SRTP-protected (not measured).
    public func preparePackets() {
        for i in 0..<batch.count {
            do {
                try send(keyframe: false)
            } catch {
                fatalError("publisher cannot send: \(error)")
            }
            guard let datagram = publisher.pollTransmit() else { fatalError("publisher sent nothing") }
            datagram.bytes.withUnsafeBytes { batch.slot(i).copyMemory(from: $0) }
            batch.lengths[i] = datagram.bytes.count
        }
        sink.datagrams = 0
    }

    /// Every packet must have gone to every subscriber, else the benchmark measures drops.
    public func checkIteration(packets: Int) {
        guard sink.datagrams == packets * fanOut else {
            fatalError("forwarded \(sink.datagrams) datagrams for \(packets) packets to \(fanOut) subscribers")
        }
    }
}

public enum BenchmarkSetupError: Error {
    case notConnected(String)
    case notForwarding(String)
}

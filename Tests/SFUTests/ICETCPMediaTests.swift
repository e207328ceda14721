// ICE-TCP through real workers (MediaServer on loopback, two workers): a peer whose media goes
// over TCP, as a browser with UDP blocked would, publishes to or receives from a peer on UDP.
// Both directions cross the same packet path: ICE, DTLS, SRTP and forwarding do not know
// which transport carried a datagram.

import Glibc
import ICE
import Logging
import RTP
import Testing
@testable import SFU

/// A ClientTransport on a real socket: UDP, or TCP with RFC 4571 frames.
private final class SocketPeer {
    let transport: ClientTransport
    let fd: Int32
    let overTCP: Bool
    let reader = TCPFrameReader()
    var events: [ClientEvent] = []

    init(ice: ICECredentials, context: DTLSContext, answer: LocalTransportDescription, overTCP: Bool) throws {
        self.overTCP = overTCP
        let remote = try #require(overTCP ? answer.tcpCandidate : answer.candidate)
        let fd = socket(AF_INET, Int32((overTCP ? SOCK_STREAM : SOCK_DGRAM).rawValue), 0)
        self.fd = fd
        var storage = sockaddr_storage()
        let length = remote.write(to: &storage)
        let connected = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        try #require(connected == 0)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        transport = try ClientTransport(
            localICE: ice, remoteICE: answer.ice, remoteFingerprints: [answer.fingerprint], remoteAddress: remote,
            localAddress: TransportAddress(ip: .v4(127, 0, 0, 1), port: 1, transport: remote.transport), dtlsContext: context,
            now: .now)
    }

    deinit { close(fd) }

    /// Sends what the transport queued, takes what arrived, runs its timers.
    func pump() {
        let now = ContinuousClock.now
        if let due = transport.nextTimeout, due <= now { transport.handleTimeout(now: now) }
        while let datagram = transport.pollTransmit() {
            let bytes = overTCP ? [UInt8(datagram.bytes.count >> 8), UInt8(datagram.bytes.count & 0xFF)] + datagram.bytes : datagram.bytes
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        if overTCP {
            while true {
                let space = reader.writableSpace()
                let n = read(fd, space.baseAddress, space.count)
                guard n > 0 else { break }
                reader.didWrite(n)
                while let frame = reader.next() {
                    if case .datagram(let bytes) = frame { transport.handle(datagram: UnsafeRawBufferPointer(bytes), from: transport.remoteAddress, now: .now) }
                }
            }
        } else {
            var buffer = [UInt8](repeating: 0, count: 2048)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { break }
                transport.handle(datagram: Array(buffer[0..<n]), from: transport.remoteAddress, now: .now)
            }
        }
        while let event = transport.pollEvent() { events.append(event) }
    }

    var rtp: [ClientRTPPacket] { events.compactMap { if case .rtp(let packet) = $0 { packet } else { nil } } }
}

struct ICETCPMediaTests {
    @Test(arguments: [(true, false), (false, true), (true, true)])
    func mediaCrossesTCPLikeUDP(publisherOverTCP: Bool, subscriberOverTCP: Bool) async throws {
        // A connect deadline far beyond the test: between `publish` and `subscribe` this task
        // waits for a thread of the cooperative pool, and under ASan on a loaded 2-core CI
        // machine the synchronous fuzz-style suites held both for over 30 s (the default), so
        // the unconnected publisher was reaped and `subscribe` found no room.
        let media = try MediaServer(
            configuration: MediaServerConfiguration(
                host: "127.0.0.1", udpPort: 0, tcpPort: 0, consentTimeout: .seconds(600), workers: 2),
            logger: Logger(label: "test"))
        media.start()
        defer { media.shutdown() }
        #expect(media.tcpPorts.count == 2)

        let context = try DTLSContext(certificate: DTLSCertificate())
        let publisherICE = ICECredentials.random(), subscriberICE = ICECredentials.random()
        let published = try await media.publish(
            room: "tcp-room", participantID: "alice", identity: "alice",
            remote: ClientTransport.offer(localICE: publisherICE, dtlsContext: context), tracks: CallFixture.publishedTracks)
        #expect(published.tcpCandidate?.transport == .tcp)
        #expect(published.tcpCandidate?.ip == published.candidate.ip)
        let (subscribed, tracks) = try await media.subscribe(
            room: "tcp-room", participantID: "alice", subscriptionID: "bob-sub", identity: "bob",
            remote: ClientTransport.offer(localICE: subscriberICE, dtlsContext: context), slots: CallFixture.subscriberSlots)
        // Connected only now, and checked at once (the first pump runs before any suspension):
        // a TCP connection without a valid check for 10 s is closed by the server, and under
        // TSan a suspended test task waited 16 s for its thread between publish and subscribe.
        let publisher = try SocketPeer(ice: publisherICE, context: context, answer: published, overTCP: publisherOverTCP)
        let subscriber = try SocketPeer(ice: subscriberICE, context: context, answer: subscribed, overTCP: subscriberOverTCP)

        // Bounded by time, not by rounds: on a loaded machine the worker thread may not run for
        // seconds, and a fixed number of 5 ms rounds then gives up before it did. And blocking,
        // not `Task.sleep`: a suspended test task waits for a thread of the cooperative pool,
        // which the sanitizer runs' synchronous suites held for 30 s and more, so the peers
        // were pumped a few times in the whole deadline and never connected.
        func pump(until done: () -> Bool) {
            let deadline = ContinuousClock.now + .seconds(30)
            while !done(), ContinuousClock.now < deadline {
                publisher.pump()
                subscriber.pump()
                usleep(5_000)
            }
        }
        pump { publisher.transport.isConnected && subscriber.transport.isConnected }
        try #require(publisher.transport.isConnected && subscriber.transport.isConnected)

        var video = VP8Stream(ssrc: CallFixture.videoSSRC), audio = OpusStream(ssrc: CallFixture.audioSSRC)
        for index in 0..<40 {
            for packet in video.frame(keyframe: index % 10 == 0, packets: 3) {
                try publisher.transport.sendRTP(
                    payloadType: video.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                    ssrc: video.ssrc, marker: packet.marker, payload: packet.payload, extensions: [(id: 9, data: Array("1".utf8))])
            }
            let packet = audio.next()
            try publisher.transport.sendRTP(
                payloadType: audio.payloadType, sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp,
                ssrc: audio.ssrc, payload: packet.payload, extensions: [(id: 9, data: Array("0".utf8))])
            publisher.pump()
            subscriber.pump()
            usleep(2_000)
        }
        let videoSSRC = try #require(tracks.first { $0.kind == .video }?.ssrc)
        let audioSSRC = try #require(tracks.first { $0.kind == .audio }?.ssrc)
        pump { subscriber.rtp.filter { $0.ssrc == audioSSRC }.count >= 40 }
        #expect(subscriber.rtp.filter { $0.ssrc == audioSSRC }.count == 40)
        #expect(subscriber.rtp.filter { $0.ssrc == videoSSRC }.count >= 90, "from the first keyframe on")

        let stats = try await media.stats()
        let connections = (publisherOverTCP ? 1 : 0) + (subscriberOverTCP ? 1 : 0)
        #expect(stats.iceTCP.open == connections)
        #expect(stats.iceTCP.accepted == connections)
        #expect(stats.iceTCP.framesIn > 0)
        #expect(stats.iceTCP.framesOut > 0)
        #expect(stats.iceTCP.dropped == [0, 0, 0])
        if publisherOverTCP { #expect(stats.iceTCP.framesIn >= 160, "every RTP packet came in framed") }
        if subscriberOverTCP { #expect(stats.iceTCP.framesOut >= 130, "every forwarded packet went out framed") }
    }
}

// The peer side of a Chorus transport, as a browser would run it against the SFU: controlling
// ICE, DTLS client, SRTP. Sans-IO like the server: datagrams and time in, datagrams and events
// out (`pollTransmit`, `pollEvent`, `nextTimeout`); tests, benchmarks and the load generator
// bring their own network.

import ICE
import RTP

public final class ClientTransport {
    public let localICE: ICECredentials
    public let localAddress: TransportAddress
    public let remoteICE: ICECredentials
    public let remoteFingerprints: [DTLSFingerprint]
    /// The SFU's candidate: every datagram goes there, and only datagrams from it are accepted.
    public let remoteAddress: TransportAddress
    public let configuration: ClientTransportConfiguration
    public private(set) var state: ClientTransportState = .checking
    /// Our address as the SFU saw it (XOR-MAPPED-ADDRESS of the last success response).
    public private(set) var mappedAddress: TransportAddress?
    /// The SRTP profile DTLS negotiated; nil before.
    public private(set) var srtpProfile: SRTPProfile?
    public private(set) var stats = ClientTransportStats()

    private let dtlsContext: DTLSContext
    private var ice: ClientConnectivityChecks
    private let dtls: DTLSEndpoint
    private var dtlsStarted = false
    private var srtpIn: SRTPContext?
    private var srtpOut: SRTPContext?
    private var transmits = FIFO<ClientDatagram>()
    private var events = FIFO<ClientEvent>()
    /// One datagram's worth, reused: SRTP works in place, so sends and receives copy here once.
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 16)

    /// `remoteICE`, `remoteFingerprints` and `remoteAddress` come from the SFU's answer;
    /// `localICE` must be what the offer carried (see `offer(localICE:dtlsContext:)`).
    public init(
        localICE: ICECredentials = .random(), remoteICE: ICECredentials, remoteFingerprints: [DTLSFingerprint],
        remoteAddress: TransportAddress, localAddress: TransportAddress, dtlsContext: DTLSContext,
        configuration: ClientTransportConfiguration = ClientTransportConfiguration(), now: ContinuousClock.Instant
    ) throws(DTLSError) {
        self.localICE = localICE
        self.localAddress = localAddress
        self.remoteICE = remoteICE
        self.remoteFingerprints = remoteFingerprints
        self.remoteAddress = remoteAddress
        self.configuration = configuration
        self.dtlsContext = dtlsContext
        ice = ClientConnectivityChecks(local: localICE, remote: remoteICE, configuration: configuration, now: now)
        // a=setup:active: the SFU always answers passive, so the client says ClientHello.
        dtls = try DTLSEndpoint(context: dtlsContext, role: .client, remoteFingerprints: remoteFingerprints)
        sendCheckIfDue(now: now)
    }

    /// With the SFU's answer as MediaCore returns it.
    public convenience init(
        localICE: ICECredentials = .random(), remote: LocalTransportDescription, localAddress: TransportAddress,
        dtlsContext: DTLSContext, configuration: ClientTransportConfiguration = ClientTransportConfiguration(),
        now: ContinuousClock.Instant
    ) throws(DTLSError) {
        try self.init(
            localICE: localICE, remoteICE: remote.ice, remoteFingerprints: [remote.fingerprint],
            remoteAddress: remote.candidate, localAddress: localAddress, dtlsContext: dtlsContext,
            configuration: configuration, now: now)
    }

    deinit { scratch.deallocate() }

    /// What the offer tells the SFU about a client that will use these credentials and this
    /// certificate: build it first, get the answer, then create the transport with both.
    public static func offer(localICE: ICECredentials, dtlsContext: DTLSContext) -> RemoteTransportParameters {
        RemoteTransportParameters(ice: localICE, fingerprints: [dtlsContext.certificate.fingerprint])
    }

    public var localFingerprint: DTLSFingerprint { dtlsContext.certificate.fingerprint }
    /// `offer(localICE:dtlsContext:)` for this transport.
    public var offer: RemoteTransportParameters { Self.offer(localICE: localICE, dtlsContext: dtlsContext) }
    public var isConnected: Bool { state == .connected }

    // MARK: - Output

    public func pollTransmit() -> ClientDatagram? { transmits.pop() }

    public func pollEvent() -> ClientEvent? { events.pop() }

    /// When `handleTimeout` must run next: the next ICE check, consent expiry or DTLS
    /// retransmission. Nil once failed or closed.
    public var nextTimeout: ContinuousClock.Instant? {
        switch state {
        case .failed, .closed: return nil
        default: break
        }
        let deadlines = [ice.deadline, dtls.nextTimeout].compactMap { $0 }
        return deadlines.min()
    }

    // MARK: - Input

    public func handle(datagram: [UInt8], from source: TransportAddress, now: ContinuousClock.Instant) {
        datagram.withUnsafeBytes { handle(datagram: $0, from: source, now: now) }
    }

    /// One received datagram, demultiplexed by its first byte (RFC 7983 §7).
    public func handle(datagram: UnsafeRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant) {
        stats.datagramsIn += 1
        guard isAlive else { return drop() }
        // RFC 8445 §7.2.5.2.1: only the pair's remote address is ours to listen to.
        guard source == remoteAddress, let first = datagram.first else { return drop() }
        switch first {
        case 0...3: handleSTUN(datagram, now: now)
        case 20...63: handleDTLS(datagram, now: now)
        case 128...191: handleSRTP(datagram)
        default: drop()
        }
    }

    /// Sends checks and DTLS retransmissions that are due, and fails on expired consent.
    public func handleTimeout(now: ContinuousClock.Instant) {
        guard isAlive else { return }
        if let reason = ice.failure(now: now) {
            return fail("ICE: \(reason)")
        }
        sendCheckIfDue(now: now)
        dtls.handleTimeout(now: now)
        flushDTLS()
        if case .failed(let reason) = dtls.state { fail("DTLS: \(reason)") }
    }

    /// Sends close_notify (when DTLS got that far) and stops.
    public func close() {
        guard isAlive else { return }
        if dtlsStarted {
            dtls.close()
            flushDTLS()
        }
        stop(.closed)
    }

    // MARK: - Media

    /// Protects and queues one RTP packet. `extensions` are RFC 8285 one-byte elements.
    public func sendRTP(
        payloadType: UInt8, sequenceNumber: SequenceNumber, timestamp: RTPTimestamp, ssrc: UInt32,
        marker: Bool = false, payload: [UInt8], extensions: [(id: UInt8, data: [UInt8])] = []
    ) throws(ClientTransportError) {
        // withUnsafeBytes only rethrows untyped errors; carry the typed one out by value.
        let result = payload.withUnsafeBytes { payload in
            Result { () throws(ClientTransportError) in
                try sendRTP(
                    payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp, ssrc: ssrc,
                    marker: marker, payload: payload, extensions: extensions)
            }
        }
        try result.get()
    }

    /// The same from a caller's buffer (a load generator's preallocated frames).
    public func sendRTP(
        payloadType: UInt8, sequenceNumber: SequenceNumber, timestamp: RTPTimestamp, ssrc: UInt32,
        marker: Bool = false, payload: UnsafeRawBufferPointer, extensions: [(id: UInt8, data: [UInt8])] = []
    ) throws(ClientTransportError) {
        guard let srtpOut, state == .connected else { throw .notConnected }
        let slot = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<SendQueue.slotSize])
        var length = RTPHeaderWriter.writeFixedHeader(
            marker: marker, payloadType: payloadType, sequenceNumber: sequenceNumber, timestamp: timestamp,
            ssrc: ssrc, into: slot)
        if !extensions.isEmpty {
            var writer = OneByteExtensionWriter(packet: slot, headerLength: length)
            for (id, data) in extensions {
                let appended = data.withUnsafeBytes { writer.append(id: id, data: $0) }
                guard appended else {
                    throw (1...14).contains(id) && (1...16).contains(data.count) ? .packetTooLarge : .badExtension(id: id)
                }
            }
            length = writer.finish()
        }
        guard length + payload.count + srtpOut.profile.rtpOverhead <= slot.count else { throw .packetTooLarge }
        UnsafeMutableRawBufferPointer(rebasing: slot[length..<(length + payload.count)]).copyMemory(from: payload)
        length += payload.count
        let protected: Int
        do {
            protected = try srtpOut.protectRTP(slot.baseAddress!, length: length, capacity: slot.count)
        } catch {
            throw .srtp(error)
        }
        transmit(UnsafeRawBufferPointer(rebasing: slot[0..<protected]))
        stats.rtpSent += 1
    }

    /// Protects and queues one compound RTCP datagram.
    public func sendRTCP(_ packets: [RTCPPacket]) throws(ClientTransportError) {
        guard let srtpOut, state == .connected else { throw .notConnected }
        let plain = RTCPCompound.serialize(packets)
        guard plain.count + srtpOut.profile.rtcpOverhead <= SendQueue.slotSize else { throw .packetTooLarge }
        plain.withUnsafeBytes { scratch.copyMemory(from: $0) }
        let protected: Int
        do {
            protected = try srtpOut.protectRTCP(scratch.baseAddress!, length: plain.count, capacity: SendQueue.slotSize)
        } catch {
            throw .srtp(error)
        }
        transmit(UnsafeRawBufferPointer(rebasing: scratch[0..<protected]))
        stats.rtcpSent += 1
    }

    // MARK: - Internals

    private var isAlive: Bool {
        switch state {
        case .failed, .closed: false
        default: true
        }
    }

    private func handleSTUN(_ datagram: UnsafeRawBufferPointer, now: ContinuousClock.Instant) {
        switch ice.handle(datagram, now: now) {
        case .success(let first, let mapped):
            mappedAddress = mapped ?? mappedAddress
            if first {
                state = .handshaking
                dtlsStarted = true
                dtls.start(now: now)
                flushDTLS()
            }
        case .error, .ignored:
            drop()
        }
    }

    private func handleDTLS(_ datagram: UnsafeRawBufferPointer, now: ContinuousClock.Instant) {
        // Before our ClientHello nothing the server sends can be DTLS for us.
        guard dtlsStarted else { return drop() }
        let wasConnected = dtls.state == .connected
        dtls.handle(datagram: datagram, now: now)
        flushDTLS()
        switch dtls.state {
        case .connected where !wasConnected:
            guard let keys = dtls.srtpKeys else { return fail("DTLS: connected without SRTP keys") }
            do {
                // RFC 5764 §4.2: the client protects with the client write key, reads with the server's.
                srtpOut = try configuration.srtpBackend.makeContext(profile: keys.profile, masterKey: keys.local, direction: .outbound)
                srtpIn = try configuration.srtpBackend.makeContext(profile: keys.profile, masterKey: keys.remote, direction: .inbound)
            } catch {
                return fail("SRTP setup failed: \(error)")
            }
            srtpProfile = keys.profile
            state = .connected
            events.push(.connected)
        case .failed(let reason):
            fail("DTLS: \(reason)")
        case .closed:
            stop(.closed)
            events.push(.closed)
        default:
            break
        }
    }

    private func handleSRTP(_ datagram: UnsafeRawBufferPointer) {
        guard let srtpIn, datagram.count >= 12, datagram.count <= scratch.count else { return drop() }
        scratch.copyMemory(from: datagram)
        // RFC 5761 §4: RTCP packet types 192...223 put 64...95 where RTP has its payload type.
        let payloadType = datagram[1] & 0x7F
        let isRTCP = (64...95).contains(payloadType)
        let length: Int
        do {
            length = isRTCP
                ? try srtpIn.unprotectRTCP(scratch.baseAddress!, length: datagram.count)
                : try srtpIn.unprotectRTP(scratch.baseAddress!, length: datagram.count)
        } catch {
            stats.srtpFailures += 1
            return drop()
        }
        let plain = UnsafeRawBufferPointer(rebasing: scratch[0..<length])
        if isRTCP {
            guard let packets = try? RTCPCompound.parse(plain) else { return drop() }
            stats.rtcpReceived += 1
            events.push(.rtcp(packets))
            return
        }
        guard let packet = try? RTPPacket(parsing: plain) else { return drop() }
        var extensions: [UInt8: [UInt8]] = [:]
        packet.forEachHeaderExtension { id, data in extensions[id] = Array(data) }
        stats.rtpReceived += 1
        events.push(
            .rtp(
                ClientRTPPacket(
                    marker: packet.marker, payloadType: packet.payloadType, sequenceNumber: packet.sequenceNumber,
                    timestamp: packet.timestamp, ssrc: packet.ssrc, extensions: extensions,
                    payload: Array(packet.payload))))
    }

    private func sendCheckIfDue(now: ContinuousClock.Instant) {
        if let check = ice.checkIfDue(now: now) {
            check.withUnsafeBytes { transmit($0) }
        }
    }

    private func flushDTLS() {
        while let n = dtls.pollTransmit(into: scratch) {
            transmit(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
        }
    }

    private func transmit(_ bytes: UnsafeRawBufferPointer) {
        stats.datagramsOut += 1
        transmits.push(ClientDatagram(bytes: Array(bytes), source: localAddress, destination: remoteAddress))
    }

    private func drop() { stats.dropped += 1 }

    private func fail(_ reason: String) {
        stop(.failed(reason))
        events.push(.failed(reason))
    }

    private func stop(_ final: ClientTransportState) {
        state = final
        srtpIn = nil
        srtpOut = nil
    }
}

/// Counters of one client transport.
public struct ClientTransportStats: Equatable, Sendable {
    public var datagramsIn = 0
    public var datagramsOut = 0
    /// Datagrams ignored: wrong source, unexpected or unauthenticated STUN, SRTP before keys,
    /// failed SRTP authentication or replay, unparsable RTP/RTCP.
    public var dropped = 0
    public var srtpFailures = 0
    public var rtpSent = 0
    public var rtcpSent = 0
    public var rtpReceived = 0
    public var rtcpReceived = 0
}

/// A queue with amortised O(1) pop, for transmits and events that are drained in order.
struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }

    mutating func push(_ item: Element) { items.append(item) }

    mutating func pop() -> Element? {
        guard head < items.count else { return nil }
        let item = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        }
        return item
    }
}

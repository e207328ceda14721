// One WebRTC peer of the load test: a UDP socket, the project's ClientTransport (controlling
// ICE, DTLS client, SRTP) and what it plays, a publisher's media or a subscriber's. Owned by
// one generator thread, which feeds it datagrams and time and drains what it wants sent.

import Glibc
import ICE
import SFU

final class PeerSession {
    enum Media {
        case publisher(PublisherMedia)
        case subscriber(SubscriberMedia)
    }

    let label: String
    let socket: UDPEndpoint
    let transport: ClientTransport
    let media: Media
    /// Answers the server's own connectivity checks (Janus sends them; Chorus does not).
    let checkResponder: ICECheckResponder?
    private(set) var isConnected = false
    private(set) var failure: String?
    private(set) var isClosed = false
    /// Whether the owning thread has counted this session as connected / failed yet.
    var tallied: (connected: Bool, failed: Bool) = (false, false)

    init(label: String, socket: UDPEndpoint, transport: ClientTransport, media: Media, checkResponder: ICECheckResponder? = nil) {
        self.label = label
        self.socket = socket
        self.transport = transport
        self.media = media
        self.checkResponder = checkResponder
    }

    /// One datagram from the server: a connectivity check of its own is answered here, at
    /// once (a few per connection and consent interval, so no batching), everything else goes
    /// to the transport.
    func receive(_ datagram: UnsafeRawBufferPointer, from source: TransportAddress, now: ContinuousClock.Instant) {
        if let first = datagram.first, first < 4, let response = checkResponder?.response(to: datagram, from: source) {
            _ = response.withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            return
        }
        transport.handle(datagram: datagram, from: source, now: now)
    }

    var isAlive: Bool { failure == nil && !isClosed }

    var publisher: PublisherMedia? {
        if case .publisher(let media) = media { return media }
        return nil
    }

    /// Handles the transport's events after input or a timeout; `now` is when that input
    /// arrived (a subscriber's receive time).
    func pumpEvents(now: UInt64, counters: inout TrafficCounters) {
        while let event = transport.pollEvent() {
            switch event {
            case .connected:
                isConnected = true
                publisher?.start(now: now)
            case .rtp(let packet):
                if case .subscriber(let subscriber) = media {
                    subscriber.handle(packet, now: now, counters: &counters)
                    let feedback = subscriber.dueFeedback(now: now)
                    // Only fails once the transport is gone; the session notices that event.
                    if !feedback.isEmpty { try? transport.sendRTCP(feedback) }
                }
            case .rtcp(let packets):
                publisher?.handle(rtcp: packets, counters: &counters)
            case .failed(let reason):
                if failure == nil { failure = reason }
            case .closed:
                isClosed = true
            }
        }
    }

    /// Closes DTLS (close_notify) so the SFU frees the transport at once.
    func close() {
        publisher?.sending = false
        transport.close()
        isClosed = true
    }
}

/// Hands a session to its generator thread. The runner builds it, sends it and keeps no
/// reference, so from then on only that thread touches it.
struct SessionHandoff: @unchecked Sendable {
    let session: PeerSession
}

// One WebRTC peer of the load test: a UDP socket, the project's ClientTransport (controlling
// ICE, DTLS client, SRTP) and what it plays, a publisher's media or a subscriber's. Owned by
// one generator thread, which feeds it datagrams and time and drains what it wants sent.

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
    private(set) var isConnected = false
    private(set) var failure: String?
    private(set) var isClosed = false
    /// Whether the owning thread has counted this session as connected / failed yet.
    var tallied: (connected: Bool, failed: Bool) = (false, false)

    init(label: String, socket: UDPEndpoint, transport: ClientTransport, media: Media) {
        self.label = label
        self.socket = socket
        self.transport = transport
        self.media = media
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
                if case .subscriber(let subscriber) = media { subscriber.handle(packet, now: now, counters: &counters) }
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

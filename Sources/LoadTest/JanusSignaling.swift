// The load test against Janus's VideoRoom plugin (`chorus loadtest --sfu janus`): each
// identity is one Janus session, as a browser tab would be, with one handle per peer
// connection; the first publisher of a room creates it; publishers `joinandconfigure` with
// their offer; subscribers `join` one feed, take Janus's offer and `start` with our answer.
// A background thread sends the sessions' keepalives, which Janus needs within 60 s.

import Foundation
import Synchronization

final class JanusSignaling: SignalingAPI {
    private let client: JanusClient
    /// Room name → Janus room number, and the handle that created it (to destroy it).
    private var rooms: [String: (number: UInt64, session: UInt64, handle: UInt64)] = [:]
    /// Identity → its Janus session.
    private var sessions: [String: UInt64] = [:]
    private let keepalive: JanusKeepalive
    /// Publishers per room the rooms are created for (Janus's `publishers` cap).
    static let publishersPerRoom = 100
    /// How long a subscriber retries while its publisher's PeerConnection is not up yet.
    static let feedWaitNanoseconds: UInt64 = 15_000_000_000

    init(server: LoopbackServer) {
        client = JanusClient(server: server)
        keepalive = JanusKeepalive(client: client)
        keepalive.start()
    }

    deinit { keepalive.stop() }

    func publish(room: String, identity: String, local: LocalPeer, audioSSRC: UInt32, video: OfferedVideo) throws(LoadTestError) -> Publication {
        // The load test asks Janus for one stream per publisher (options refuse --simulcast).
        guard case .ssrc(let videoSSRC) = video else { throw .badArgument("--simulcast goes with --sfu chorus") }
        let session = try session(for: identity)
        let handle = try client.attachVideoRoom(session: session)
        let number = try roomNumber(room, session: session, handle: handle)
        var offer = SDPOffer(ice: local.ice, fingerprint: local.fingerprint, localPort: local.port)
        // ClientTransport is the DTLS client; Janus answers an active offer passive.
        offer.dtlsSetup = "active"
        let jsep = JanusJSEP(type: "offer", sdp: offer.publish(audioSSRC: audioSSRC, videoSSRC: videoSSRC, cname: identity))
        let reply = try client.send(.publish(room: number, display: identity), jsep: jsep, session: session, handle: handle)
        guard let feed = reply.videoRoom?.id, let answerJSEP = reply.jsep, answerJSEP.type == "answer" else {
            throw .badAnswer("Janus 'joinandconfigure' for \(identity) returned no feed id or no JSEP answer")
        }
        let answer = try SDPAnswer(parsing: answerJSEP.sdp)
        guard answer.section(mid: OfferFormat.audioMID) != nil, answer.section(mid: OfferFormat.videoMID) != nil else {
            throw .badAnswer("Janus answer for \(identity) did not accept both Opus and VP8")
        }
        return Publication(remote: answer, publisherID: String(feed))
    }

    func subscribe(room: String, publisherID: String, identity: String, local: LocalPeer) throws(LoadTestError) -> Subscription {
        guard let number = rooms[room]?.number, let feed = UInt64(publisherID) else {
            throw .badArgument("no Janus room '\(room)' or feed '\(publisherID)' to subscribe to")
        }
        let session = try session(for: identity)
        let handle = try client.attachVideoRoom(session: session)
        let attached = try join(room: number, feed: feed, session: session, handle: handle)
        guard let jsep = attached.jsep, jsep.type == "offer" else {
            throw .badAnswer("Janus 'join' as subscriber to feed \(feed) returned no JSEP offer")
        }
        let offer = try JanusSubscriberOffer(parsing: jsep.sdp)
        guard let audioSSRC = offer.audio?.mediaSSRC, let videoSSRC = offer.video?.mediaSSRC else {
            throw .badAnswer("Janus offer for \(identity) names no a=ssrc for both audio and video")
        }
        let answer = try JanusSDP.answer(to: offer, local: local)
        let started = try client.send(.start, jsep: JanusJSEP(type: "answer", sdp: answer), session: session, handle: handle)
        guard started.videoRoom?.started == "ok" else {
            throw .badAnswer("Janus did not start the subscription of \(identity) to feed \(feed)")
        }
        return Subscription(remote: offer.transport, audioSSRC: audioSSRC, videoSSRC: videoSSRC)
    }

    func leave() {
        keepalive.stop()
        for (_, room) in rooms {
            _ = try? client.send(.destroy(room: room.number), session: room.session, handle: room.handle)
        }
        for session in sessions.values {
            try? client.destroy(session: session)
        }
        rooms.removeAll()
        sessions.removeAll()
    }

    // MARK: - Helpers

    private func session(for identity: String) throws(LoadTestError) -> UInt64 {
        if let session = sessions[identity] { return session }
        let session = try client.createSession()
        sessions[identity] = session
        keepalive.add(session)
        return session
    }

    /// The room's number, creating the room through `handle` the first time.
    private func roomNumber(_ room: String, session: UInt64, handle: UInt64) throws(LoadTestError) -> UInt64 {
        if let existing = rooms[room] { return existing.number }
        // Janus's JavaScript-safe ids stay below 2^53; a random one cannot clash with a room
        // of another run in the same process.
        let number = UInt64.random(in: 1...(1 << 52))
        let reply = try client.send(.create(room: number, description: room, publishers: Self.publishersPerRoom), session: session, handle: handle)
        guard reply.videoRoom?.videoroom == "created" else {
            throw .badAnswer("Janus did not create room \(room): '\(reply.videoRoom?.videoroom ?? reply.janus)'")
        }
        rooms[room] = (number, session, handle)
        return number
    }

    /// `join` as a subscriber, retried while Janus says the feed does not exist yet: a
    /// publisher only becomes a feed once its PeerConnection is up, which happens on the
    /// generator's thread shortly after its answer.
    private func join(room: UInt64, feed: UInt64, session: UInt64, handle: UInt64) throws(LoadTestError) -> JanusReply {
        let deadline = MonotonicTime.now() + Self.feedWaitNanoseconds
        while true {
            do {
                return try client.send(.subscribe(room: room, feed: feed), session: session, handle: handle)
            } catch .rejected(_, let status, _) where status == VideoRoomReply.noSuchFeed && MonotonicTime.now() < deadline {
                MonotonicTime.sleep(until: MonotonicTime.now() + 50_000_000)
            }
        }
    }
}

/// Sends `keepalive` for every session every 25 s (Janus's default `session_timeout` is
/// 60 s), on its own thread so that the runner's measuring loop need not.
final class JanusKeepalive: Sendable {
    static let interval: UInt64 = 25_000_000_000
    private let client: JanusClient
    private let state = Mutex<(sessions: [UInt64], stopped: Bool)>(([], false))

    init(client: JanusClient) {
        self.client = client
    }

    func add(_ session: UInt64) {
        state.withLock { $0.sessions.append(session) }
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "janus-keepalive"
        thread.start()
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }

    private func run() {
        var next = MonotonicTime.now() + Self.interval
        while true {
            // Wake every 100 ms to notice `stop` soon.
            MonotonicTime.sleep(until: min(next, MonotonicTime.now() + 100_000_000))
            let (sessions, stopped) = state.withLock { ($0.sessions, $0.stopped) }
            if stopped { return }
            guard MonotonicTime.now() >= next else { continue }
            next += Self.interval
            for session in sessions {
                try? client.keepalive(session: session)
            }
        }
    }
}

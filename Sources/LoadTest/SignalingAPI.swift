// How the load test reaches an SFU's signaling, so that the same peers, media and counters run
// against Chorus (WHIP/WHEP) or Janus (VideoRoom over its HTTP/JSON API): publish a peer,
// subscribe a peer to one publisher, and leave at the end. ICE, DTLS and SRTP are the same
// ClientTransport for both; only how the SDP is exchanged differs.

import ICE
import SFU
import Auth

/// Which SFU `--server` runs.
public enum SFUKind: String, CaseIterable, Sendable, Codable {
    case chorus
    case janus
}

/// What a load-test peer puts into its SDP: its ICE credentials, its certificate's fingerprint
/// and its one UDP port on 127.0.0.1.
struct LocalPeer {
    var ice: ICECredentials
    var fingerprint: DTLSFingerprint
    var port: UInt16
}

/// A publisher the SFU accepted: the SFU's side of the transport, and how subscriptions name it.
struct Publication {
    var remote: SDPAnswer
    /// Chorus: the participant id of the WHIP resource; Janus: the VideoRoom feed id.
    var publisherID: String
}

/// A publisher's video as its offer describes it.
enum OfferedVideo {
    /// One stream with this SSRC (RFC 5576).
    case ssrc(UInt32)
    /// RID simulcast, lowest layer first; the SSRCs are learnt from the packets.
    case simulcast(rids: [String])
}

/// A subscription the SFU set up: the SFU's side of the transport and the SSRCs it sends
/// one publisher's audio and video with.
struct Subscription {
    var remote: SDPAnswer
    var audioSSRC: UInt32
    var videoSSRC: UInt32
    /// How the SFU names the subscription (Chorus: the last segment of the WHEP Location).
    var subscriptionID = ""
}

protocol SignalingAPI: AnyObject {
    /// Publishes Opus with this SSRC (the offer names it, RFC 5576) and VP8 as `video` says.
    func publish(room: String, identity: String, local: LocalPeer, audioSSRC: UInt32, video: OfferedVideo) throws(LoadTestError) -> Publication
    /// Subscribes `identity` to one publisher's audio and video.
    func subscribe(room: String, publisherID: String, identity: String, local: LocalPeer) throws(LoadTestError) -> Subscription
    /// Frees what the run created on the server (best effort: the transports are closed already).
    func leave()
}

/// Chorus: WHIP to publish, WHEP to subscribe (one session per publisher), each with a token
/// minted from the server's secret.
final class ChorusSignaling: SignalingAPI {
    private let whip: WHIPClient
    /// Signs tokens as the server's own `chorus token` does, from the secret it was given.
    private let authority: TokenAuthority
    private let tokenExpiry: Int64
    /// WHIP resources to DELETE when leaving, with the token that may.
    private var locations: [(location: String, token: String)] = []
    /// Each identity's token: a publisher subscribes with its own (meetings).
    private var tokens: [String: String] = [:]
    /// `--transport-cc`: subscribers offer transport-cc (SDPOffer.subscribe).
    private let transportCC: Bool

    init(server: LoopbackServer, jwtSecret: String, tokenExpiry: Int64, transportCC: Bool = false) {
        whip = WHIPClient(server: server)
        self.transportCC = transportCC
        authority = TokenAuthority(secret: jwtSecret)
        self.tokenExpiry = tokenExpiry
    }

    private func token(identity: String, room: String, publish: Bool) throws(LoadTestError) -> String {
        do {
            return try authority.sign(AccessClaims(
                identity: identity, room: room, publish: publish, subscribe: true, admin: false, expiresAt: tokenExpiry))
        } catch {
            throw .setup("token for \(identity): \(error)")
        }
    }

    func publish(room: String, identity: String, local: LocalPeer, audioSSRC: UInt32, video: OfferedVideo) throws(LoadTestError) -> Publication {
        let token = try token(identity: identity, room: room, publish: true)
        tokens[identity] = token
        let sdp = SDPOffer(ice: local.ice, fingerprint: local.fingerprint, localPort: local.port)
        let offer = switch video {
        case .ssrc(let videoSSRC): sdp.publish(audioSSRC: audioSSRC, videoSSRC: videoSSRC, cname: identity)
        case .simulcast(let rids): sdp.publish(audioSSRC: audioSSRC, simulcastRIDs: rids, cname: identity)
        }
        let session = try whip.publish(room: room, offer: offer, token: token)
        let answer = try SDPAnswer(parsing: session.answer)
        guard answer.section(mid: OfferFormat.audioMID) != nil, answer.section(mid: OfferFormat.videoMID) != nil else {
            throw .badAnswer("WHIP answer for \(identity) did not accept both Opus and VP8")
        }
        locations.append((session.location, token))
        return Publication(remote: answer, publisherID: session.resourceID)
    }

    func subscribe(room: String, publisherID: String, identity: String, local: LocalPeer) throws(LoadTestError) -> Subscription {
        let token: String
        if let own = tokens[identity] {
            token = own
        } else {
            token = try self.token(identity: identity, room: room, publish: false)
        }
        tokens[identity] = token
        let offer = SDPOffer(ice: local.ice, fingerprint: local.fingerprint, localPort: local.port).subscribe(transportCC: transportCC)
        let session = try whip.subscribe(room: room, participant: publisherID, offer: offer, token: token)
        let answer = try SDPAnswer(parsing: session.answer)
        guard let audioSSRC = answer.section(mid: OfferFormat.audioMID)?.ssrc, let videoSSRC = answer.section(mid: OfferFormat.videoMID)?.ssrc else {
            throw .badAnswer("WHEP answer for \(identity) names no a=ssrc for both audio and video")
        }
        return Subscription(remote: answer, audioSSRC: audioSSRC, videoSSRC: videoSSRC, subscriptionID: session.resourceID)
    }

    /// `--simulcast`: the spatial layer one subscription receives (docs/API.md, the layer API),
    /// asked with the subscriber's own token.
    func setLayer(room: String, subscriptionID: String, identity: String, spatial: Int) throws(LoadTestError) {
        guard let token = tokens[identity] else { throw .setup("no token for \(identity)") }
        let path = "/api/rooms/\(room)/subscriptions/\(subscriptionID)/layers"
        let response = try HTTPClient.send(
            method: "POST", port: whip.server.port, path: path,
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: "{\"spatial\":\(spatial)}")
        guard response.status == 200 else {
            throw .rejected(request: "POST \(path)", status: response.status, body: response.body)
        }
    }

    /// `--churn`: one publisher leaves. Deleting its WHIP resource frees the subscriptions to it.
    func unpublish(room: String, publisherID: String, identity: String) throws(LoadTestError) {
        let location = "/whip/\(room)/\(publisherID)"
        guard let token = tokens.removeValue(forKey: identity) else { throw .setup("no token for \(identity)") }
        locations.removeAll { $0.location == location }
        try whip.delete(location: location, token: token)
    }

    /// `--churn`: a publisher mutes or unmutes its own audio or video at the SFU.
    func mute(room: String, publisherID: String, identity: String, video: Bool, muted: Bool) throws(LoadTestError) {
        guard let token = tokens[identity] else { throw .setup("no token for \(identity)") }
        let path = "/api/rooms/\(room)/participants/\(publisherID)/mute"
        let response = try HTTPClient.send(
            method: "POST", port: whip.server.port, path: path,
            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer \(token)")],
            body: "{\"kind\":\"\(video ? "video" : "audio")\",\"muted\":\(muted)}")
        guard response.status == 200 else {
            throw .rejected(request: "POST \(path)", status: response.status, body: response.body)
        }
    }

    func leave() {
        // Deleting a publisher frees the subscriptions to it as well.
        for (location, token) in locations {
            try? whip.delete(location: location, token: token)
        }
        locations.removeAll()
    }
}

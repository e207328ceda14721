// WHIP (RFC 9725) and WHEP endpoints: an SDP offer in, a 201 with the SFU's answer and the
// resource's Location out; DELETE on that Location ends it.

import Hummingbird
import Logging
import SFU

import SDP

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct MediaRoutes: Sendable {
    let media: MediaServer
    let access: RoomAccess
    let limits: ServiceLimits
    /// Offers are a few kilobytes; anything near this is not an offer.
    static let maximumOfferBytes = 64 * 1024

    func register(on router: Router<some RequestContext>) {
        router.post("whip/:room") { request, context in try await publish(request, context) }
        router.delete("whip/:room/:participant") { request, context in try await unpublish(request, context) }
        router.patch("whip/:room/:participant") { _, _ -> Response in
            // Trickle ICE and ICE restarts (RFC 9725 §4.3) are not supported: offers are non-trickle.
            throw APIError(.methodNotAllowed, "method_not_allowed", "trickle ICE is not supported; send a complete offer")
        }
        router.post("whep/:room/:participant") { request, context in try await subscribe(request, context) }
        router.delete("whep/:room/:participant/:subscription") { request, context in
            try await unsubscribe(request, context)
        }
        router.patch("whep/:room/:participant/:subscription") { _, _ -> Response in
            throw APIError(.methodNotAllowed, "method_not_allowed", "trickle ICE is not supported; send a complete offer")
        }
    }

    private func publish(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let room = try roomParameter(context)
        let claims = try await access.grant(request, room: room, for: .publish).claims
        let offer = try await readOffer(request)
        try await checkUsage(of: claims.identity, publishing: true)
        let negotiated = try negotiate(offer, policy: .default)
        let tracks = negotiated.sendingTracks
        guard !tracks.isEmpty else {
            throw APIError.badRequest("no_sending_media", "a WHIP offer must send audio or video (sendonly or sendrecv)")
        }
        let participantID = Self.newID()
        let local = try await mediaCall {
            try await media.publish(
                room: room, participantID: participantID, identity: claims.identity,
                remote: negotiated.remoteTransport, tracks: tracks)
        }
        let answer = SDPNegotiator.answer(to: negotiated, local: local.sdp, outgoing: [:], sessionID: Self.sessionID())
        context.logger.info("WHIP publish", metadata: ["room": "\(room)", "participant": "\(participantID)", "identity": "\(claims.identity)"])
        return created(answer: answer, location: "/whip/\(room)/\(participantID)")
    }

    private func unpublish(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let room = try roomParameter(context)
        let participantID = try pathParameter("participant", context)
        let grant = try await access.grant(request, room: room, for: .view)
        guard let participant = try await media.participantState(room: room, participantID: participantID) else {
            throw APIError.notFound("no such participant in this room")
        }
        guard grant.isModerator || grant.identity == participant.identity else {
            throw APIError.forbidden("only the publisher or a moderator can end this session")
        }
        try await mediaCall { try await media.unpublish(room: room, participantID: participantID) }
        return Response(status: .ok)
    }

    private func subscribe(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let room = try roomParameter(context)
        let participantID = try pathParameter("participant", context)
        let claims = try await access.grant(request, room: room, for: .subscribe).claims
        let offer = try await readOffer(request)
        try await checkUsage(of: claims.identity, publishing: false)
        guard let participant = try await media.participantState(room: room, participantID: participantID) else {
            throw APIError.notFound("no such participant in this room")
        }
        // Only the codecs the publisher sends can be forwarded: no transcoding in an SFU.
        var policy = CodecPolicy.default
        policy.audio = participant.tracks.filter { $0.kind == .audio }.map(\.codec)
        policy.video = participant.tracks.filter { $0.kind == .video }.map(\.codec)
        let negotiated = try negotiate(offer, policy: policy)
        let slots = negotiated.receivingSlots
        guard !slots.isEmpty else {
            throw APIError.badRequest("no_receiving_media", "a WHEP offer must receive audio or video (recvonly)")
        }
        let subscriptionID = Self.newID()
        let (local, tracks) = try await mediaCall {
            try await media.subscribe(
                room: room, participantID: participantID, subscriptionID: subscriptionID, identity: claims.identity,
                remote: negotiated.remoteTransport, slots: slots)
        }
        var outgoing: [String: OutgoingStream] = [:]
        for track in tracks { outgoing[track.mid] = track.sdp }
        let answer = SDPNegotiator.answer(to: negotiated, local: local.sdp, outgoing: outgoing, sessionID: Self.sessionID())
        context.logger.info("WHEP subscribe", metadata: ["room": "\(room)", "participant": "\(participantID)", "subscription": "\(subscriptionID)"])
        return created(answer: answer, location: "/whep/\(room)/\(participantID)/\(subscriptionID)")
    }

    private func unsubscribe(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let room = try roomParameter(context)
        let participantID = try pathParameter("participant", context)
        let subscriptionID = try pathParameter("subscription", context)
        let grant = try await access.grant(request, room: room, for: .view)
        guard let participant = try await media.participantState(room: room, participantID: participantID) else {
            throw APIError.notFound("no such participant in this room")
        }
        guard let subscription = participant.subscriptions.first(where: { $0.id == subscriptionID }) else {
            throw APIError.notFound("no such subscription")
        }
        guard grant.isModerator || grant.identity == subscription.identity else {
            throw APIError.forbidden("only the subscriber or a moderator can end this subscription")
        }
        try await mediaCall {
            try await media.unsubscribe(room: room, participantID: participantID, subscriptionID: subscriptionID)
        }
        return Response(status: .ok)
    }

    // MARK: - Helpers

    /// 429 when `identity` already holds as many publishers or transports as it may. Checked
    /// per request, not atomically across workers: two offers racing may both pass, which
    /// bounds a flood just the same.
    private func checkUsage(of identity: String, publishing: Bool) async throws {
        let usage = try await mediaCall { try await media.usage(of: identity) }
        if publishing, usage.publishers >= limits.publishersPerUser {
            throw APIError(LimitExceeded(
                "too_many_publishers", "at most \(limits.publishersPerUser) publishers per user; end one first", retryAfter: 30))
        }
        if usage.transports >= limits.transportsPerUser {
            throw APIError(LimitExceeded(
                "too_many_transports", "at most \(limits.transportsPerUser) media connections per user; end one first",
                retryAfter: 30))
        }
    }

    private func readOffer(_ request: Request) async throws -> String {
        let contentType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard contentType == "application/sdp" else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "the offer must be sent as application/sdp")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumOfferBytes)
        } catch {
            throw APIError(.contentTooLarge, "payload_too_large", "the offer is larger than \(Self.maximumOfferBytes) bytes")
        }
        guard let text = body.getString(at: body.readerIndex, length: body.readableBytes), !text.isEmpty else {
            throw APIError.badRequest("bad_sdp", "the offer is empty or not UTF-8")
        }
        return text
    }

    private func negotiate(_ offer: String, policy: CodecPolicy) throws -> NegotiatedOffer {
        do {
            return try SDPNegotiator.negotiate(offer: offer, policy: policy)
        } catch .noUsableMedia {
            throw APIError.badRequest("no_usable_codec", "the offer has no audio or video section with a codec Chorus can forward (\(policy.audio + policy.video))")
        } catch {
            throw APIError.badRequest("bad_sdp", "\(error)")
        }
    }

    private func mediaCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as MediaServerError {
            throw error.apiError
        }
    }

    private func created(answer: String, location: String) -> Response {
        Response(
            status: .created,
            headers: [.contentType: "application/sdp", .location: location],
            body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
    }

    static func newID() -> String {
        (0..<12).map { _ in String("abcdefghijklmnopqrstuvwxyz0123456789".randomElement()!) }.joined()
    }

    static func sessionID() -> UInt64 { UInt64.random(in: 1...(UInt64(1) << 62)) }
}

func pathParameter(_ name: String, _ context: some RequestContext) throws -> String {
    guard let value = context.parameters.get(name), !value.isEmpty else {
        throw APIError.badRequest("bad_path", "missing path parameter \(name)")
    }
    return value
}

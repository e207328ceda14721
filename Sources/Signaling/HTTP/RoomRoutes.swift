// Room state and moderation: who is in a room with which tracks and counters, the
// server-enforced mute of a participant's audio or video, and a WHEP subscriber's choice of
// simulcast layer.

import Hummingbird
import SFU

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct RoomRoutes: Sendable {
    let media: MediaServer
    let access: RoomAccess

    struct MuteRequest: Decodable {
        var kind: String
        var muted: Bool
    }

    struct LayersRequest: Decodable {
        var spatial: Int
        var temporal: Int?
    }

    func register(on router: Router<some RequestContext>) {
        router.get("api/rooms/:room") { request, context -> Response in
            let room = try roomParameter(context)
            _ = try await access.grant(request, room: room, for: .view)
            guard let state = try await media.roomState(room) else { throw APIError.notFound("no such room") }
            return try json(state)
        }
        router.post("api/rooms/:room/participants/:participant/mute") { request, context -> Response in
            let room = try roomParameter(context)
            let participantID = try pathParameter("participant", context)
            let grant = try await access.grant(request, room: room, for: .view)
            let mute = try await decodeBody(
                MuteRequest.self, of: request, expected: "{\"kind\": \"audio\"|\"video\", \"muted\": true|false}")
            guard let kind = TrackKind(rawValue: mute.kind) else {
                throw APIError.badRequest("bad_kind", "kind must be \"audio\" or \"video\"")
            }
            guard let participant = try await media.participantState(room: room, participantID: participantID) else {
                throw APIError.notFound("no such participant in this room")
            }
            guard grant.isModerator || grant.identity == participant.identity else {
                throw APIError.forbidden("only a moderator or the participant itself can mute")
            }
            do {
                let state = try await media.setMute(
                    room: room, participantID: participantID, kind: kind, muted: mute.muted, byAdmin: grant.isModerator)
                return try json(state)
            } catch let error as MediaServerError {
                throw error.apiError
            }
        }
        router.post("api/rooms/:room/subscriptions/:subscription/layers") { request, context -> Response in
            try await setLayers(request, context)
        }
    }

    /// The simulcast layer a WHEP subscription receives (the subscription id is the last part
    /// of its WHEP Location). The switch happens on that layer's next keyframe, which the SFU
    /// asks the publisher for; the answer is the subscription's state at once.
    private func setLayers(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let room = try roomParameter(context)
        let subscriptionID = try pathParameter("subscription", context)
        let grant = try await access.grant(request, room: room, for: .view)
        let layers = try await decodeBody(LayersRequest.self, of: request, expected: "{\"spatial\": 0|1|2, \"temporal\"?: 0-3}")
        guard LayerPreference.spatial.contains(layers.spatial) else {
            throw APIError.badRequest("bad_layer", "spatial must be 0, 1 or 2")
        }
        if let temporal = layers.temporal, !LayerPreference.temporal.contains(temporal) {
            throw APIError.badRequest("bad_layer", "temporal must be 0-3")
        }
        guard let state = try await media.roomState(room) else { throw APIError.notFound("no such room") }
        let subscription = state.participants.lazy.flatMap(\.subscriptions).first { $0.id == subscriptionID }
        guard let subscription else { throw APIError.notFound("no such subscription") }
        guard grant.isModerator || grant.identity == subscription.identity else {
            throw APIError.forbidden("only the subscriber or a moderator can choose its layers")
        }
        do {
            let updated = try await media.setLayers(
                room: room, subscriptionID: subscriptionID, spatial: layers.spatial, temporal: layers.temporal)
            return try json(updated)
        } catch let error as MediaServerError {
            throw error.apiError
        }
    }
}

/// A small JSON body (at most 4096 bytes: `413` above), or `400 bad_json` saying what was expected.
private func decodeBody<T: Decodable>(_ type: T.Type, of request: Request, expected: String) async throws -> T {
    let body = try await request.body.collect(upTo: 4096)
    do {
        return try JSONDecoder().decode(type, from: Data(buffer: body))
    } catch {
        throw APIError.badRequest("bad_json", "expected \(expected)")
    }
}

func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(value)
    return Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}

extension Data {
    init(buffer: ByteBuffer) {
        self.init(buffer.readableBytesView)
    }
}

// Room state and moderation: who is in a room with which tracks and counters, and the
// server-enforced mute of a participant's audio or video.

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
            let body = try await request.body.collect(upTo: 4096)
            let mute: MuteRequest
            do {
                mute = try JSONDecoder().decode(MuteRequest.self, from: Data(buffer: body))
            } catch {
                throw APIError.badRequest("bad_json", "expected {\"kind\": \"audio\"|\"video\", \"muted\": true|false}")
            }
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

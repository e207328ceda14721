// Who may do what in an SFU room. A token's `room` claim names the rooms it may touch ("*":
// any). A room that belongs to a call (a group call's media room is named by its call id) is
// stricter: only that call's participants get in, and only the call's moderators (its
// initiator, or a participant whose token carries the admin grant) act on others, whatever the
// claim says; a `room: "*"` admin token of a stranger opens nothing there. A Matrix access
// token carries no claim at all: it opens the rooms of its user's calls, and no other.

import Hummingbird
import Auth

struct RoomAccess: Sendable {
    let authorizer: Authorizer
    /// The call records; nil when the server runs without the call API (tests of the SFU routes).
    let calls: CallService?

    enum Action {
        /// Read the room's state, or act on one's own sessions and mutes.
        case view
        case publish
        case subscribe
    }

    /// What the bearer may do in the room.
    struct Grant {
        let claims: AccessClaims
        /// May end other people's sessions and mute them (a moderator's mute, which they cannot lift).
        let isModerator: Bool

        var identity: String { claims.identity }
    }

    /// 401 without a valid token; 403 when the token does not cover the room or lacks the
    /// grant, or the room belongs to a call the bearer is not in; 503 when the call records
    /// cannot be read (never "open" on a database error).
    func grant(_ request: Request, room: String, for action: Action) async throws -> Grant {
        let bearer = try await authorizer.bearer(of: request)
        let claims = bearer.claims
        if bearer.source == .chorus, !claims.allows(room: room) {
            throw APIError.forbidden("token is not valid for room '\(room)'")
        }
        switch action {
        case .publish: guard claims.canPublish else { throw APIError.forbidden("token has no publish grant") }
        case .subscribe: guard claims.canSubscribe else { throw APIError.forbidden("token has no subscribe grant") }
        case .view: break
        }
        guard let calls, let call = try await lookUp(room, in: calls) else {
            guard bearer.source == .chorus else {
                throw APIError.forbidden("a Matrix access token opens only the rooms of its user's calls; use a Chorus token for room '\(room)'")
            }
            return Grant(claims: claims, isModerator: claims.isAdmin)
        }
        guard let me = call.participant(claims.identity) else {
            throw APIError.forbidden("room '\(room)' belongs to a call you are not in")
        }
        // Anyone the call names may look (a group participant who left may come back); only
        // who has joined a call still going sends or receives its media.
        if action != .view {
            guard call.status == .ringing || call.status == .active else {
                throw APIError(.conflict, "conflict", "the call of room '\(room)' is \(call.status.rawValue)")
            }
            guard me.status == .joined else {
                throw APIError.forbidden("join the call of room '\(room)' before sending or receiving its media")
            }
        }
        return Grant(claims: claims, isModerator: call.isModerator(claims.identity, hasAdminGrant: claims.isAdmin))
    }

    private func lookUp(_ room: String, in calls: CallService) async throws -> CallRecord? {
        do {
            return try await calls.call(owningRoom: room)
        } catch {
            throw CallRoutes.apiError(error)
        }
    }
}

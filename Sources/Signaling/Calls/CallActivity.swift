// What happened to a call, told to an observer outside the realtime hub: the Matrix
// application service mirrors a call in a Matrix room into `m.call.*` events. The service
// tells it after each change is committed; the observer must not block (it queues its work).

import SocketIO

/// Where the action being handled came from. The Matrix application service runs the call
/// service's operations for events it received from the homeserver with `.matrix`, so that
/// they are not sent back to the homeserver as if a Chorus user had acted. A task-local rather
/// than a parameter: it follows an operation through every internal call without each
/// signature carrying it.
public enum CallOrigin: Sendable, Equatable {
    case chorus
    case matrix

    @TaskLocal public static var current: CallOrigin = .chorus
}

public enum CallActivity: Sendable, Equatable {
    /// A call was created; `offer` is the caller's SDP offer when `initiate` carried one.
    case initiated(CallRecord, offer: String?)
    /// An offer, answer or candidate was relayed from `from` (its fields as the client sent them).
    case relayed(CallRecord, from: String, kind: RelayKind, fields: [String: JSONValue])
    case answered(CallRecord, by: String)
    case rejected(CallRecord, by: String, reason: String?)
    /// Ended by `by`, or by the server (nil: disconnected, server_restart, everyone left).
    case ended(CallRecord, by: String?, reason: String?)
    /// Rang past the ring timeout.
    case missed(CallRecord)

    public var call: CallRecord {
        switch self {
        case .initiated(let call, _), .relayed(let call, _, _, _), .answered(let call, _), .rejected(let call, _, _),
            .ended(let call, _, _), .missed(let call):
            call
        }
    }
}

public protocol CallObserver: Sendable {
    /// Called once per committed change, in order for one call, with where it came from.
    func callActivity(_ activity: CallActivity, origin: CallOrigin)
}

/// A check of a new call against its chat room, before it is stored: a Matrix room's members
/// (the caller joined, the invitees joined or invited). It may fill in the invitee of a 1-to-1
/// call that names none (the room's one other member).
public protocol CallRoomPolicy: Sendable {
    func admit(_ request: InitiateCall, by user: String) async throws(CallError) -> InitiateCall
}

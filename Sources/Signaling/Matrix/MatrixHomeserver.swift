// What Chorus asks of the homeserver, as a protocol: the HTTP client (MatrixHomeserverClient)
// implements it, and the unit tests a fake homeserver in memory.

import Auth
import SocketIO

/// A refused or failed client-server API request.
public enum MatrixRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The homeserver answered with an error status (a 4xx: forbidden, not found, ...).
    case refused(status: Int, errcode: String, message: String)
    /// No usable answer within the timeout: unreachable, 5xx, 429, a body that is not JSON.
    case unavailable(String)

    public var description: String {
        switch self {
        case .refused(let status, let errcode, let message): "\(status) \(errcode): \(message)"
        case .unavailable(let reason): "unavailable: \(reason)"
        }
    }
}

/// A room member as the room's state says (`m.room.member` events).
public struct MatrixMember: Sendable, Equatable {
    public var user: String
    /// join, invite, leave, ban, knock.
    public var membership: String

    public init(user: String, membership: String) {
        self.user = user
        self.membership = membership
    }
}

public protocol MatrixHomeserver: MatrixIdentityProvider {
    /// The room's members as `user` sees them (`GET /rooms/{room}/members?user_id=`, as the
    /// application service acting for `user`): refused (403) when `user` has never been in it.
    func members(of room: String, as user: String) async throws(MatrixRequestError) -> [MatrixMember]
    /// The room's joined members, asked as the application service itself
    /// (`GET /rooms/{room}/joined_members`).
    func joinedMembers(of room: String) async throws(MatrixRequestError) -> [String]
    /// Sends a room event as `user` (`PUT /rooms/{room}/send/{type}/{txnId}?user_id=`); the same
    /// `transactionID` again is the same event (the homeserver's idempotency, used for retries).
    /// Returns the event id.
    func send(_ type: String, content: JSONValue, room: String, as user: String, transactionID: String) async throws(MatrixRequestError) -> String
}

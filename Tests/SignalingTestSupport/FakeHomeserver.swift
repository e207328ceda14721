// A homeserver in memory for the Matrix tests of Chorus's own logic: whoami from a token table,
// room members from a table, sent events kept in order (each attempt, with its transaction id),
// and switches for a homeserver that is down or fails a number of sends.

import Auth
import Signaling
import SocketIO
import Synchronization

public final class FakeHomeserver: MatrixHomeserver {
    public struct Sent: Sendable, Equatable {
        public var type: String
        public var content: JSONValue
        public var room: String
        public var user: String
        public var transactionID: String
    }

    private struct State {
        var tokens: [String: String] = [:]
        var rooms: [String: [MatrixMember]] = [:]
        var sent: [Sent] = []
        var attempts: [Sent] = []
        var down = false
        var failingSends = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func addToken(_ token: String, user: String) { state.withLock { $0.tokens[token] = user } }
    public func setRoom(_ room: String, _ members: [(String, String)]) {
        state.withLock { $0.rooms[room] = members.map { MatrixMember(user: $0.0, membership: $0.1) } }
    }
    public func setDown(_ down: Bool) { state.withLock { $0.down = down } }
    /// The next `count` sends fail as if the homeserver were unreachable.
    public func failSends(_ count: Int) { state.withLock { $0.failingSends = count } }
    public var sent: [Sent] { state.withLock { $0.sent } }
    public var attempts: [Sent] { state.withLock { $0.attempts } }

    public func whoami(accessToken: String) async -> MatrixWhoAmI {
        state.withLock { state in
            if state.down { return .unavailable("down") }
            return state.tokens[accessToken].map(MatrixWhoAmI.user) ?? .unknownToken
        }
    }

    public func members(of room: String, as user: String) async throws(MatrixRequestError) -> [MatrixMember] {
        let (down, members) = state.withLock { ($0.down, $0.rooms[room]) }
        if down { throw .unavailable("down") }
        guard let members, members.contains(where: { $0.user == user }) else {
            throw .refused(status: 403, errcode: "M_FORBIDDEN", message: "User not in room")
        }
        return members
    }

    public func joinedMembers(of room: String) async throws(MatrixRequestError) -> [String] {
        let (down, members) = state.withLock { ($0.down, $0.rooms[room]) }
        if down { throw .unavailable("down") }
        return (members ?? []).filter { $0.membership == "join" }.map(\.user)
    }

    public func send(_ type: String, content: JSONValue, room: String, as user: String, transactionID: String) async throws(MatrixRequestError) -> String {
        let event = Sent(type: type, content: content, room: room, user: user, transactionID: transactionID)
        let failed = state.withLock { state -> Bool in
            state.attempts.append(event)
            if state.down || state.failingSends > 0 {
                state.failingSends = max(0, state.failingSends - 1)
                return true
            }
            state.sent.append(event)
            return false
        }
        if failed { throw .unavailable("down") }
        return "$event\(transactionID)"
    }

    /// The sent events of `type`, once there are at least `count` of them.
    public func waitForSent(_ type: String, count: Int = 1, timeout: Duration = .seconds(5)) async throws -> [Sent] {
        try await waitFor(timeout: timeout, "\(count) \(type) sent") {
            let matching = sent.filter { $0.type == type }
            return matching.count >= count ? matching : nil
        }
    }
}

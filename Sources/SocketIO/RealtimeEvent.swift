// What a realtime connection carries, whatever its transport: events (`{"event", "data"}` on
// /ws, `["event", data]` on Socket.IO) and who the connection's token names. Defined here, the
// lowest layer that speaks them; Signaling's native /ws uses the same types.

/// One event as both transports carry it: `{"event": "...", "data": {...}}` on /ws, an
/// `["event", data]` message on Socket.IO.
public struct RealtimeEvent: Sendable, Equatable {
    public var event: String
    public var data: JSONValue

    public init(_ event: String, _ data: JSONValue = .object([:])) {
        self.event = event
        self.data = data
    }
}

/// Who a realtime connection's token names: its `sub` and whether it has the admin grant.
public struct RealtimeIdentity: Sendable, Equatable, ExpressibleByStringLiteral {
    public var user: String
    public var isAdmin: Bool

    public init(user: String, isAdmin: Bool = false) {
        self.user = user
        self.isAdmin = isAdmin
    }

    public init(stringLiteral user: String) {
        self.init(user: user)
    }
}

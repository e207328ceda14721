// The seam between realtime transports (native WebSocket at /ws, Socket.IO at /socket.io/) and
// the call service: both deliver the same events to one implementation behind them.

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

/// A connected, authenticated client, whatever its transport.
public protocol RealtimeClient: AnyObject, Sendable {
    /// Unique per connection.
    var connectionID: String { get }
    /// The token's `sub`.
    var user: String { get }
    /// The token's `admin` grant: may mute other participants of a group call.
    var isAdmin: Bool { get }
    /// Sends an event to this client; a closed connection drops it silently.
    func deliver(_ event: RealtimeEvent) async
}

/// What the transports call. Implemented by the call service.
public protocol RealtimeHandler: Sendable {
    func connected(_ client: any RealtimeClient) async
    /// Handles a client → server event. A non-nil result is sent back to that client only
    /// (an `error` event for bad input, or an acknowledgement).
    func received(_ event: RealtimeEvent, from client: any RealtimeClient) async -> RealtimeEvent?
    func disconnected(_ client: any RealtimeClient) async
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

// The seam between realtime transports (native WebSocket at /ws, Socket.IO at /socket.io/) and
// the call service: both deliver the same events to one implementation behind them.

import SocketIO

/// A connected, authenticated client, whatever its transport.
public protocol RealtimeClient: AnyObject, Sendable {
    /// Unique per connection.
    var connectionID: String { get }
    /// The token's `sub`.
    var user: String { get }
    /// The token's `admin` grant: may mute other participants of a group call.
    var isAdmin: Bool { get }
    /// The client's IP address (the key of per-address limits); nil when unknown.
    var address: String? { get }
    /// Sends an event to this client; a closed connection drops it silently.
    func deliver(_ event: RealtimeEvent) async
}

extension RealtimeClient {
    public var address: String? { nil }
}

/// What the transports call. Implemented by the call service.
public protocol RealtimeHandler: Sendable {
    /// Why one more connection of `user` from `address` would be refused, or nil: asked before
    /// a WebSocket upgrade, so that the refusal can still be an HTTP 429.
    func admissionProblem(user: String, address: String?) -> LimitExceeded?
    /// Registers the client, unless that would cross a limit (another connection may have
    /// come in since `admissionProblem`); the transport then closes the connection.
    func connected(_ client: any RealtimeClient) async throws(LimitExceeded)
    /// Handles a client → server event. A non-nil result is sent back to that client only
    /// (an `error` event for bad input, or an acknowledgement).
    func received(_ event: RealtimeEvent, from client: any RealtimeClient) async -> RealtimeEvent?
    func disconnected(_ client: any RealtimeClient) async
}

extension RealtimeHandler {
    /// A handler without limits admits everyone.
    public func admissionProblem(user: String, address: String?) -> LimitExceeded? { nil }
}

// The request context of every Chorus route: Hummingbird's basic context, what a route needs
// to upgrade its connection to a WebSocket, and the client's address (limits per address).

import Hummingbird
import HummingbirdWebSocket
import NIOCore

public struct ChorusRequestContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The TCP peer; nil in in-process tests, where there is no socket.
    public let remoteAddress: SocketAddress?
    /// The connection, for the one route that must answer on it directly (a refused WebSocket
    /// upgrade, see WebSocketRefusalMiddleware).
    let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }

    /// The peer's IP address as text (no port): the key of per-address limits.
    public var clientAddress: String? { remoteAddress?.ipAddress }
}

// The request context of every Chorus route: what Hummingbird's basic WebSocket context has (a
// route can upgrade its connection), plus the connection itself, for per-client limits (the TCP
// peer's address) and for dropping a WebSocket whose client stopped reading.

import Hummingbird
import HummingbirdWebSocket
import NIOCore

public struct ChorusRequestContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection the request came on (after an upgrade, the WebSocket's).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }

    /// The TCP peer; nil on a connection that has none (an in-process test channel).
    public var remoteAddress: SocketAddress? { channel.remoteAddress }

    /// The key of per-address limits (see ClientAddress).
    public var clientAddress: String { ClientAddress.key(remoteAddress) }
}

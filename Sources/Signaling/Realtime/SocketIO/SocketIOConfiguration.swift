// Timers and limits of the Socket.IO endpoint. The defaults are those of the reference server
// (engine.io 6, socket.io 4), which old clients were tuned against.

public struct SocketIOConfiguration: Sendable, Equatable {
    /// The server pings every `pingInterval` (Engine.IO v4 heartbeat: the server pings, the
    /// client pongs) and a held poll is answered by that ping at the latest.
    public var pingInterval: Duration
    /// The session closes when no pong arrives within `pingTimeout` of a ping.
    public var pingTimeout: Duration
    /// Largest POST body or WebSocket message accepted, in bytes; announced in the handshake so
    /// that clients split their payloads below it.
    public var maxPayload: Int
    /// A probe WebSocket that does not complete `2probe` … `5` in this time is closed.
    public var upgradeTimeout: Duration
    /// A session that has not connected to the namespace (Socket.IO CONNECT) in this time is
    /// closed, so that handshakes alone cannot pile up.
    public var connectTimeout: Duration

    public init(
        pingInterval: Duration = .seconds(25), pingTimeout: Duration = .seconds(20), maxPayload: Int = 1_000_000,
        upgradeTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(45)
    ) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
        self.upgradeTimeout = upgradeTimeout
        self.connectTimeout = connectTimeout
    }
}

extension Duration {
    /// Whole milliseconds, as the handshake announces timers.
    var engineIOMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

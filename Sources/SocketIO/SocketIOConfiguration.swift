// Timers and limits of the Socket.IO endpoint. The timers are those of the reference server
// (engine.io 6, socket.io 4), which old clients were tuned against; the limits on what waits for
// a client and on pending handshakes are Chorus's own (the reference server has none, see each).

public struct SocketIOConfiguration: Sendable, Equatable {
    /// The server pings every `pingInterval` (Engine.IO v4 heartbeat: the server pings, the
    /// client pongs) and a held poll is answered by that ping at the latest.
    public var pingInterval: Duration
    /// The session closes when no pong arrives within `pingTimeout` of a ping.
    public var pingTimeout: Duration
    /// Largest POST body or WebSocket message accepted, in bytes; announced in the handshake so
    /// that clients split their payloads below it. Inbound only, like the reference server's
    /// `maxHttpBufferSize`; what goes out is bounded by `maxQueuedPackets`/`maxQueuedBytes`.
    public var maxPayload: Int
    /// A probe WebSocket that does not complete `2probe` … `5` in this time is closed.
    public var upgradeTimeout: Duration
    /// A session that has not connected to the namespace (Socket.IO CONNECT) in this time is
    /// closed, so that handshakes alone cannot pile up (the reference server's `connectTimeout`).
    public var connectTimeout: Duration
    /// Most packets that may wait for one client: in the long-poll buffer until its next GET, or
    /// handed to its WebSocket and not yet written out. Past it the client is disconnected (its
    /// session closes as any other, so the call service sees it leave and the grace period runs)
    /// and everything queued for it is dropped. 1,024 like the native `/ws`. The reference
    /// server has no such bound: its `writeBuffer` grows for as long as the client does not
    /// read, which is how one client that never reads could take a gigabyte of memory.
    public var maxQueuedPackets: Int
    /// Most bytes (packets as encoded) that may wait for one client, with the same effect. 4 MiB
    /// holds 64 relays of an SDP at the REST API's 64 KiB cap, or four messages of `maxPayload`;
    /// a client that reads at all drains far less than that between two reads. A single packet
    /// larger than this is still sent to a client with nothing queued.
    public var maxQueuedBytes: Int
    /// Most Engine.IO sessions, in all, that have not yet connected to the namespace (a handshake
    /// without a successful CONNECT). Over it a handshake is refused with `429` and a
    /// `Retry-After` of when the oldest such session expires (`connectTimeout`). A pending session
    /// costs about 5 KB (measured: 3,000 handshakes, 15 MB), so the default bounds them to some
    /// 50 MB. (The reference server has no such limit; `allowRequest` is where an application
    /// adds one.)
    public var maxPendingSessions: Int
    /// Most pending sessions (as above) from one client address: the TCP peer's IPv4 address, or
    /// the /64 of an IPv6 one. A client completes its CONNECT one round trip after the
    /// handshake, so even a NAT in front of many users has few pending at once; one address
    /// cannot take the whole `maxPendingSessions`. Behind a reverse proxy every client has the
    /// proxy's address: raise this to `maxPendingSessions` there.
    public var maxPendingSessionsPerAddress: Int

    public init(
        pingInterval: Duration = .seconds(25), pingTimeout: Duration = .seconds(20), maxPayload: Int = 1_000_000,
        upgradeTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(45),
        maxQueuedPackets: Int = 1024, maxQueuedBytes: Int = 4 << 20,
        maxPendingSessions: Int = 10_000, maxPendingSessionsPerAddress: Int = 100
    ) {
        self.pingInterval = pingInterval
        self.pingTimeout = pingTimeout
        self.maxPayload = maxPayload
        self.upgradeTimeout = upgradeTimeout
        self.connectTimeout = connectTimeout
        self.maxQueuedPackets = maxQueuedPackets
        self.maxQueuedBytes = maxQueuedBytes
        self.maxPendingSessions = maxPendingSessions
        self.maxPendingSessionsPerAddress = maxPendingSessionsPerAddress
    }
}

extension Duration {
    /// Whole milliseconds, as the handshake announces timers.
    package var engineIOMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

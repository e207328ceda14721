// What an Engine.IO HTTP request asks for, read from its method and query (engine.io-protocol
// v4, "Query parameters"): protocol version, transport, and session id once there is one.

public enum EngineIOTransport: String, Sendable, Equatable {
    case polling
    case websocket
}

public struct EngineIORequest: Sendable, Equatable {
    public enum Method: Sendable, Equatable {
        case get, post, other
    }

    public var method: Method
    public var transport: EngineIOTransport
    /// nil for a handshake.
    public var sid: String?
    /// The request carries `Upgrade: websocket` (only such a GET can open a WebSocket).
    public var isWebSocketUpgrade: Bool

    /// Validates in the reference server's order: transport, protocol version, then what the
    /// method may do. Only `EIO=4` is served: v3 clients (Socket.IO 2) frame payloads
    /// differently and ping the other way round.
    public init(method: Method, query: [String: String], isWebSocketUpgrade: Bool) throws(EngineIOError) {
        guard let name = query["transport"], let transport = EngineIOTransport(rawValue: name) else {
            throw .unknownTransport
        }
        guard query["EIO"] == "4" else { throw .unsupportedProtocolVersion }
        // JSONP polling (`j=`) answers with script; no client this endpoint serves uses it.
        guard query["j"] == nil else { throw .badRequest }
        let sid = query["sid"]
        if let sid, !EngineIORequest.isPlausibleSessionID(sid) { throw .unknownSession }
        switch (transport, method, sid) {
        case (_, .other, _):
            throw sid == nil ? .badHandshakeMethod : .badRequest
        case (.polling, .post, nil):
            throw .badHandshakeMethod
        case (.websocket, .post, _):
            throw .badRequest
        case (.websocket, .get, _) where !isWebSocketUpgrade:
            throw .badRequest
        case (.polling, .get, _) where isWebSocketUpgrade:
            throw .badRequest
        default:
            break
        }
        self.method = method
        self.transport = transport
        self.sid = sid
        self.isWebSocketUpgrade = isWebSocketUpgrade
    }

    /// Session ids are ours (`SocketIOIdentifier`): short base64url. Anything else cannot be a
    /// session and is refused before a table lookup.
    package static func isPlausibleSessionID(_ sid: String) -> Bool {
        !sid.isEmpty && sid.utf8.count <= 64
            && sid.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            }
    }
}

// The hook through which realtime transports add their routes: the native WebSocket at /ws and,
// later, Socket.IO at /socket.io/. Each one authenticates its clients and hands their events
// to the same RealtimeHandler (the call service).

import Hummingbird
import HummingbirdWebSocket
import Auth
import SocketIO

public protocol RealtimeTransport: Sendable {
    /// Adds the transport's routes. `credentials` verify the clients' tokens (a Chorus token's
    /// `sub`, or a Matrix access token's user).
    func register(on router: Router<ChorusRequestContext>, handler: any RealtimeHandler, credentials: Credentials)
}

extension Credentials {
    /// The identity of a realtime client from its token: `Authorization: Bearer ...` or, for
    /// browsers that cannot set headers on a WebSocket, `?token=...`. Throws a 401 APIError
    /// (503 when a Matrix homeserver cannot be asked).
    public func realtimeIdentity(of request: Request) async throws -> RealtimeIdentity {
        let token: String
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw APIError.unauthorized("authorization must be 'Bearer <token>'")
            }
            token = String(parts[1])
        } else if let query = request.uri.queryParameters["token"], !query.isEmpty {
            token = String(query)
        } else {
            throw APIError.unauthorized("missing token: send 'Authorization: Bearer <token>' or ?token=<token>")
        }
        let bearer = try await Authorizer.verify(token, with: self)
        return RealtimeIdentity(user: bearer.identity, isAdmin: bearer.claims.isAdmin)
    }
}

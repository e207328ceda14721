// Bearer-token checks shared by the routes: 401 when the token is missing, forged or expired
// (or a Matrix access token its homeserver does not know); 503 when the homeserver that would
// decide cannot be reached; 403 when the token is valid but not for this room or without the grant.

import Hummingbird

import Auth

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Authorizer: Sendable {
    let credentials: Credentials

    init(credentials: Credentials) {
        self.credentials = credentials
    }

    init(authority: TokenAuthority) {
        self.init(credentials: Credentials(authority: authority))
    }

    func bearer(of request: Request) async throws -> Bearer {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("authorization must be 'Bearer <token>'")
        }
        return try await Self.verify(String(parts[1]), with: credentials)
    }

    func claims(of request: Request) async throws -> AccessClaims {
        try await bearer(of: request).claims
    }

    /// A token, however it came (header, query, Socket.IO CONNECT), as an HTTP error when refused.
    static func verify(_ token: String, with credentials: Credentials) async throws -> Bearer {
        switch await credentials.verify(token) {
        case .success(let bearer): return bearer
        case .failure(.invalid(let message)): throw APIError.unauthorized(message)
        case .failure(.unavailable(let message)):
            var error = APIError(.serviceUnavailable, "unavailable", message)
            error.retryAfter = 5
            throw error
        }
    }
}

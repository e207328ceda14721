// Bearer-token checks shared by the routes: 401 when the token is missing, forged or expired;
// 403 when it is valid but not for this room or without the grant.

import Hummingbird

import Auth

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct Authorizer: Sendable {
    let authority: TokenAuthority

    func claims(of request: Request) async throws -> AccessClaims {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("missing bearer token")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.unauthorized("authorization must be 'Bearer <token>'")
        }
        switch authority.verify(String(parts[1]).trimmingCharacters(in: .whitespaces)) {
        case .success(let claims):
            return claims
        case .failure(.expired):
            throw APIError.unauthorized("token expired")
        case .failure:
            throw APIError.unauthorized("invalid token")
        }
    }

    func claims(of request: Request, room: String) async throws -> AccessClaims {
        let claims = try await claims(of: request)
        guard claims.allows(room: room) else {
            throw APIError.forbidden("token is not valid for room '\(room)'")
        }
        return claims
    }
}
